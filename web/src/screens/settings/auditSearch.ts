/**
 * The audit log's filters as the address keeps them. ``from`` and ``to`` are wall-clock times
 * in the firm's time zone ("2026-12-07T09:30"), as a datetime-local input writes them.
 */
export interface AuditSearch {
  actor?: string;
  record_type?: string;
  record_id?: string;
  action?: string;
  from?: string;
  to?: string;
}

export const AUDIT_FILTERS = ["actor", "record_type", "record_id", "action", "from", "to"] as const;

export function parseAuditSearch(search: Record<string, unknown>): AuditSearch {
  const parsed: AuditSearch = {};
  for (const key of AUDIT_FILTERS) {
    const value = search[key];
    if (typeof value === "string" && value.trim() !== "") parsed[key] = value.trim();
  }
  return parsed;
}
