import type { components } from "@/api/schema";

export type ClientStatus = components["schemas"]["ClientStatus"];
export type ClientKind = components["schemas"]["ClientKind"];

export const CLIENT_STATUSES: readonly ClientStatus[] = ["prospect", "active", "inactive"];
export const CLIENT_KINDS: readonly ClientKind[] = ["organization", "person"];

/** The clients list's filters, as the address bar keeps them. */
export interface ClientsSearch {
  q?: string;
  status?: ClientStatus;
  tag?: string[];
  archived?: boolean;
}

// The API's limits: a search of 1 to 200 characters, at most 10 tag filters of 1 to 50.
const MAX_QUERY = 200;
const MAX_TAGS = 10;
const MAX_TAG = 50;

function isStatus(value: unknown): value is ClientStatus {
  return typeof value === "string" && (CLIENT_STATUSES as readonly string[]).includes(value);
}

function cleanTags(value: unknown): string[] {
  const raw = Array.isArray(value) ? value : typeof value === "string" ? [value] : [];
  const tags = raw
    .filter((tag): tag is string => typeof tag === "string")
    .map((tag) => tag.trim())
    .filter((tag) => tag.length > 0 && tag.length <= MAX_TAG);
  return [...new Set(tags)].slice(0, MAX_TAGS);
}

/**
 * Whatever the address says, only filters the API accepts: a hand-edited or stale link
 * shows the list with what makes sense in it rather than an error.
 */
export function parseClientsSearch(search: Record<string, unknown>): ClientsSearch {
  const parsed: ClientsSearch = {};
  if (typeof search.q === "string" && search.q.trim()) parsed.q = search.q.trim().slice(0, MAX_QUERY);
  if (isStatus(search.status)) parsed.status = search.status;
  const tags = cleanTags(search.tag);
  if (tags.length > 0) parsed.tag = tags;
  if (search.archived === true || search.archived === "true") parsed.archived = true;
  return parsed;
}

/** The list endpoint's query parameters for these filters. */
export function clientsListParams(search: ClientsSearch, cursor: string | undefined) {
  return {
    q: search.q,
    status: search.status,
    tag: search.tag,
    archived: search.archived ?? false,
    cursor,
  };
}

export const CLIENT_TABS = ["overview", "invoices", "payments", "tasks", "documents", "automations", "timeline"] as const;
export type ClientTab = (typeof CLIENT_TABS)[number];

/** The client page's open tab, so a link can open the timeline or the invoices directly. */
export function parseClientSearch(search: Record<string, unknown>): { tab?: ClientTab } {
  const tab = CLIENT_TABS.find((candidate) => candidate === search.tab);
  return tab && tab !== "overview" ? { tab } : {};
}

export function hasFilters(search: ClientsSearch): boolean {
  return Boolean(search.q || search.status || search.tag?.length || search.archived);
}

export function capitalized(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}
