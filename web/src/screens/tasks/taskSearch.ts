import type { components } from "@/api/schema";

export type Task = components["schemas"]["TaskRead"];
export type TaskStatus = components["schemas"]["TaskStatus"];

/** The tasks list's filters, as the address bar keeps them. */
export interface TaskSearch {
  /** "all": everyone's tasks; otherwise the signed-in member's. */
  view?: "all";
  /** Absent: open tasks; "any": open and done. */
  status?: TaskStatus | "any";
  due_after?: string;
  due_before?: string;
  client?: string;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function text(value: unknown, pattern: RegExp): string | undefined {
  return typeof value === "string" && pattern.test(value) ? value : undefined;
}

/** Keeps only the filters that make sense; a hand-edited address never breaks the page. */
export function parseTaskSearch(search: Record<string, unknown>): TaskSearch {
  const parsed: TaskSearch = {};
  if (search.view === "all") parsed.view = "all";
  if (search.status === "done" || search.status === "any" || search.status === "open") {
    parsed.status = search.status;
  }
  const dueAfter = text(search.due_after, DATE);
  if (dueAfter) parsed.due_after = dueAfter;
  const dueBefore = text(search.due_before, DATE);
  if (dueBefore) parsed.due_before = dueBefore;
  const client = text(search.client, UUID);
  if (client) parsed.client = client;
  return parsed;
}

export interface TaskQuery {
  assignee?: string;
  status?: TaskStatus;
  due_after?: string;
  due_before?: string;
  client_id?: string;
}

/** The list endpoint's query for these filters (open tasks unless asked otherwise). */
export function taskQuery(search: TaskSearch): TaskQuery {
  const query: TaskQuery = {};
  if (search.view !== "all") query.assignee = "me";
  const status = search.status ?? "open";
  if (status !== "any") query.status = status;
  if (search.due_after) query.due_after = search.due_after;
  if (search.due_before) query.due_before = search.due_before;
  if (search.client) query.client_id = search.client;
  return query;
}

/** An open task whose due date is before today in the firm's time zone. */
export function isOverdue(task: Pick<Task, "status" | "due_date">, today: string): boolean {
  return task.status === "open" && task.due_date !== null && task.due_date < today;
}
