import type { Problem } from "@/api/problem";

/** What a refused signing link means to its recipient, so the page says what to do next. */
export type Refusal = "invalid" | "expired" | "closed" | "not-your-turn" | "answered" | "other";

const slugOf = (problem: Pick<Problem, "type">) => problem.type.split("/").pop() ?? "";

/**
 * 403 (forged, altered, replaced, another recipient's) and a 404 are one "not valid" answer;
 * a 410 is the link's own expiry or the envelope no longer open (voided, expired,
 * completed, declined), which the problem's type tells apart; a 409 is not their turn yet or
 * already answered.
 */
export function refusalOf(problem: Pick<Problem, "status" | "type">): Refusal {
  const slug = slugOf(problem);
  if (problem.status === 403 || problem.status === 404) return "invalid";
  if (problem.status === 410) return slug === "signing-link-expired" ? "expired" : "closed";
  if (problem.status === 409) return slug === "not-your-turn" ? "not-your-turn" : "answered";
  return "other";
}
