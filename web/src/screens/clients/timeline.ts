import type { components } from "@/api/schema";

export type AuditEvent = components["schemas"]["AuditEventRead"];

/** Who did something: a member, an automation run, a client import, or firmflow itself. */
export type Actor =
  | { kind: "user"; userId: string }
  | { kind: "automation"; runId: string }
  | { kind: "import"; importId: string }
  | { kind: "system" };

export interface Change {
  field: string;
  before: string | null;
  after: string | null;
}

const ACTIONS: Record<string, string> = {
  "client.created": "Created the client",
  "client.updated": "Edited the client",
  "client.archived": "Archived the client",
  "client.unarchived": "Unarchived the client",
  "client.dunning_paused": "Paused payment reminders",
  "client.dunning_resumed": "Resumed payment reminders",
};

const FIELDS: Record<string, string> = {
  name: "Name",
  kind: "Kind",
  email: "Email",
  phone: "Phone",
  status: "Status",
  tags: "Tags",
  custom_fields: "Custom fields",
  external_ref: "External reference",
  archived_at: "Archived",
  dunning_paused: "Reminders paused",
};

// The system principal names the process it acts for where a request id would be.
const AUTOMATION_RUN = /^automation-run-([0-9a-f-]{36})$/i;
const CLIENT_IMPORT = /^client-import-([0-9a-f-]{36})$/i;

export function actorOf(event: AuditEvent): Actor {
  if (event.actor_id) return { kind: "user", userId: event.actor_id };
  const runId = AUTOMATION_RUN.exec(event.request_id ?? "")?.[1];
  if (runId) return { kind: "automation", runId };
  const importId = CLIENT_IMPORT.exec(event.request_id ?? "")?.[1];
  if (importId) return { kind: "import", importId };
  return { kind: "system" };
}

/** "client.updated" in words; an action this page does not know yet, as the API names it. */
export function titleOf(action: string): string {
  return ACTIONS[action] ?? action;
}

export function fieldLabel(field: string): string {
  return FIELDS[field] ?? field;
}

export function valueText(value: unknown): string | null {
  if (value === null || value === undefined || value === "") return null;
  if (Array.isArray(value)) return value.length ? value.map((item) => String(item)).join(", ") : null;
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value === "object") return Object.keys(value).length ? JSON.stringify(value) : null;
  return String(value);
}

function record(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

/** The fields an event changed, from its summary ({"before": {...}, "after": {...}}). */
export function changesOf(event: AuditEvent): Change[] {
  const before = record(event.summary.before);
  const after = record(event.summary.after);
  const fields = [...new Set([...Object.keys(before), ...Object.keys(after)])];
  return fields
    .filter((field) => field !== "updated_at")
    .map((field) => ({ field, before: valueText(before[field]), after: valueText(after[field]) }))
    .filter((change) => change.before !== change.after);
}

/** The automation runs that changed the record, newest first, each once. */
export function automationRunIds(events: AuditEvent[]): string[] {
  const ids: string[] = [];
  for (const event of events) {
    const actor = actorOf(event);
    if (actor.kind === "automation" && !ids.includes(actor.runId)) ids.push(actor.runId);
  }
  return ids;
}
