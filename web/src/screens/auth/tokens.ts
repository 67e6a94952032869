import type { components } from "@/api/schema";

type ApiToken = components["schemas"]["ApiTokenRead"];

export type TokenStatus = "active" | "revoked" | "expired";

export function tokenStatus(token: Pick<ApiToken, "revoked_at" | "expires_at">, now: Date = new Date()): TokenStatus {
  if (token.revoked_at) return "revoked";
  if (token.expires_at && new Date(token.expires_at) <= now) return "expired";
  return "active";
}

/** How long a new token lives: until revoked, or a number of days. */
export const EXPIRY_CHOICES = [
  { value: "never", label: "Never (until revoked)" },
  { value: "30", label: "In 30 days" },
  { value: "90", label: "In 90 days" },
  { value: "365", label: "In a year" },
] as const;

/** The expires_at to send for a choice of EXPIRY_CHOICES; undefined for a token that never expires. */
export function expiryFrom(choice: string, now: Date = new Date()): string | undefined {
  const days = Number(choice);
  if (!Number.isInteger(days) || days <= 0) return undefined;
  return new Date(now.getTime() + days * 86_400_000).toISOString();
}
