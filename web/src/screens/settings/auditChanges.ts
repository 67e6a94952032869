/** One field an audited action changed, as the log shows it. */
export interface AuditChange {
  field: string;
  before: string | null;
  after: string | null;
}

/**
 * The changes of an audit event's summary ({"before": {...}, "after": {...}}), one row per
 * field in the order the action wrote them; a side the action did not record is null.
 */
export function auditChanges(summary: Record<string, unknown>): AuditChange[] {
  const before = asRecord(summary.before);
  const after = asRecord(summary.after);
  const fields = [...new Set([...Object.keys(before), ...Object.keys(after)])];
  return fields.map((field) => ({
    field: fieldLabel(field),
    before: field in before ? displayValue(before[field]) : null,
    after: field in after ? displayValue(after[field]) : null,
  }));
}

function asRecord(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

/** "require_two_factor" as "Require two factor". */
export function fieldLabel(field: string): string {
  const words = field.replace(/_/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function displayValue(value: unknown): string {
  if (value === null || value === undefined || value === "") return "(empty)";
  if (typeof value === "boolean") return value ? "Yes" : "No";
  if (typeof value === "string" || typeof value === "number") return String(value);
  if (Array.isArray(value) && value.every((item) => typeof item === "string" || typeof item === "number")) {
    return value.length === 0 ? "(none)" : value.join(", ");
  }
  return JSON.stringify(value);
}
