import dayjs from "dayjs";
import timezone from "dayjs/plugin/timezone";
import utc from "dayjs/plugin/utc";

import type { AuditSearch } from "./auditSearch";

dayjs.extend(utc);
dayjs.extend(timezone);

/** A wall-clock time in ``timeZone`` as the instant the API takes (UTC, ISO 8601). */
export function wallTimeToIso(local: string, timeZone: string): string | undefined {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(local)) return undefined;
  const moment = dayjs.tz(local, timeZone);
  return moment.isValid() ? moment.toISOString() : undefined;
}

export interface AuditQuery {
  actor_id?: string;
  record_type?: string;
  record_id?: string;
  action?: string;
  from?: string;
  to?: string;
}

/** The list endpoint's query for these filters; times are read in the firm's time zone. */
export function auditQuery(search: AuditSearch, timeZone: string): AuditQuery {
  const query: AuditQuery = {
    actor_id: search.actor,
    record_type: search.record_type,
    record_id: search.record_id,
    action: search.action,
    from: search.from === undefined ? undefined : (wallTimeToIso(search.from, timeZone) ?? search.from),
    to: search.to === undefined ? undefined : (wallTimeToIso(search.to, timeZone) ?? search.to),
  };
  return Object.fromEntries(
    Object.entries(query).filter(([, value]) => value !== undefined),
  ) as AuditQuery;
}
