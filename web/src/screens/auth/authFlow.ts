import { ApiProblem } from "@/api/problem";
import type { components } from "@/api/schema";

type Schemas = components["schemas"];
export type LoginAnswer =
  | Schemas["SessionRead"]
  | Schemas["MfaRequiredRead"]
  | Schemas["EnrollmentRequiredRead"];

/** What a right password leads to: a session, a code to give, or two-factor to set up. */
export type NextStep =
  | { kind: "signed-in" }
  | { kind: "code"; mfaToken: string }
  | { kind: "enrol"; enrollmentToken: string };

export function nextStep(answer: LoginAnswer): NextStep {
  if ("mfa_token" in answer) return { kind: "code", mfaToken: answer.mfa_token };
  if ("enrollment_token" in answer) return { kind: "enrol", enrollmentToken: answer.enrollment_token };
  return { kind: "signed-in" };
}

/**
 * Whether the login was refused because the email and password sign in to several firms: the
 * API then wants the firm's slug (it never lists the firms, which would tell a guesser where
 * the address has accounts).
 */
export function asksForFirm(error: unknown): boolean {
  return error instanceof ApiProblem && error.status === 401 && error.problem.detail.includes("firm_slug");
}

/** The one-time token an emailed link carries in its fragment ("#token=…"). */
export function tokenFromFragment(hash: string): string | null {
  const token = new URLSearchParams(hash.replace(/^#/, "")).get("token");
  return token && token.trim() !== "" ? token.trim() : null;
}

/** A base32 secret in groups of four, easier to type into an authenticator app by hand. */
export function groupSecret(secret: string): string {
  return (secret.replace(/\s+/g, "").match(/.{1,4}/g) ?? []).join(" ");
}

/** A firm slug as the API expects it (it lower-cases too; this keeps the SSO URL clean). */
export function normaliseSlug(slug: string): string {
  return slug.trim().toLowerCase();
}

/** Whether two password fields agree; the message the confirmation field shows if not. */
export function confirmationError(password: string, confirmation: string): string | null {
  return password === confirmation ? null : "The two passwords are not the same";
}
