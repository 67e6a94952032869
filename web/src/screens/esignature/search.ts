import { isEnvelopeStatus, type EnvelopeStatus } from "./status";

/** The envelope list's filters, as the address bar keeps them. */
export interface EnvelopeListSearch {
  status?: EnvelopeStatus;
  client_id?: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whatever the address says, only filters the API accepts: a stale link shows the list, not an error. */
export function parseEnvelopeListSearch(search: Record<string, unknown>): EnvelopeListSearch {
  const parsed: EnvelopeListSearch = {};
  if (isEnvelopeStatus(search.status)) parsed.status = search.status;
  if (typeof search.client_id === "string" && UUID.test(search.client_id)) parsed.client_id = search.client_id.toLowerCase();
  return parsed;
}
