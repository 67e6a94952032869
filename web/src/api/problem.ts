import type { components } from "./schema";

export type Problem = components["schemas"]["Problem"];
export type ProblemItem = components["schemas"]["ProblemItem"];

/** An error answer of the API, carrying its problem+json body. */
export class ApiProblem extends Error {
  readonly problem: Problem;
  readonly retryAfterSeconds: number | null;

  constructor(problem: Problem, retryAfterSeconds: number | null = null) {
    super(problem.detail || problem.title);
    this.name = "ApiProblem";
    this.problem = problem;
    this.retryAfterSeconds = retryAfterSeconds;
  }

  get status(): number {
    return this.problem.status;
  }
}

/** The problem a failed fetch stands for when the API did not answer with one. */
export function problemOf(status: number, body: unknown, path: string): Problem {
  if (isProblem(body)) return body;
  return {
    type: "about:blank",
    title: status === 0 ? "The server cannot be reached" : "Unexpected answer",
    status: status === 0 ? 503 : status,
    detail:
      status === 0
        ? "Check your connection and try again."
        : `The server answered ${status}; try again, and quote the time if it persists.`,
    instance: path,
  };
}

export function isProblem(body: unknown): body is Problem {
  if (typeof body !== "object" || body === null) return false;
  const candidate = body as Record<string, unknown>;
  return typeof candidate.title === "string" && typeof candidate.status === "number";
}

/**
 * The form field an error names, in the dotted form forms use: the pointer
 * "/lines/0/quantity" becomes "lines.0.quantity"; an error about a parameter is keyed by the
 * parameter's name; one about the whole body ("" pointer) names no field.
 */
export function fieldOf(item: ProblemItem): string | null {
  if (item.pointer != null && item.pointer !== "") {
    return item.pointer
      .split("/")
      .slice(1)
      .map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"))
      .join(".");
  }
  return item.parameter ?? null;
}

/** The first error of each field the problem names. */
export function fieldErrors(problem: Problem): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const item of problem.errors ?? []) {
    const key = fieldOf(item);
    if (key !== null && !(key in fields)) fields[key] = item.detail;
  }
  return fields;
}

/** Errors that name no field the form shows: the alert above the form lists them. */
export function unplacedErrors(problem: Problem, shown: Iterable<string>): ProblemItem[] {
  const visible = new Set(shown);
  return (problem.errors ?? []).filter((item) => {
    const key = fieldOf(item);
    return key === null || !visible.has(key);
  });
}
