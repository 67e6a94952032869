import type { VerifyResult } from "./types";

export type Verdict = "intact" | "altered" | "foreign" | "unsealed";

/**
 * What a verify answer means to a reader: intact and sealed by firmflow; sealed but changed
 * since; sealed intact by a key that is not firmflow's; or carrying no seal at all.
 */
export function verdictOf(result: Pick<VerifyResult, "sealed" | "intact" | "firmflow">): Verdict {
  if (!result.sealed) return "unsealed";
  if (!result.intact) return "altered";
  return result.firmflow ? "intact" : "foreign";
}

/** The browser's time zone: the verify page has no firm whose zone to use. */
export function localTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}
