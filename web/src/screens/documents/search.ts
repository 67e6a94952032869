/** The review lifecycle of a document, as the API names it. */
export const DOCUMENT_STATUSES = ["draft", "in_review", "approved", "published"] as const;
export type DocumentStatus = (typeof DOCUMENT_STATUSES)[number];

export const STATUS_LABELS: Record<DocumentStatus, string> = {
  draft: "Draft",
  in_review: "In review",
  approved: "Approved",
  published: "Published",
};

/** The library's filters, as the address bar keeps them. */
export interface LibrarySearch {
  client_id?: string;
  folder_id?: string;
  document_type?: string;
  tag?: string;
  status?: DocumentStatus;
  deleted?: boolean;
}

/** The search page's words and filters. */
export interface DocumentSearch {
  q?: string;
  client_id?: string;
  document_type?: string;
  tag?: string;
  status?: DocumentStatus;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// The API's limits: a type of up to 64 characters, a tag of up to 50, a search of up to 200.
const MAX_TYPE = 64;
const MAX_TAG = 50;
const MAX_QUERY = 200;

function id(value: unknown): string | undefined {
  return typeof value === "string" && UUID.test(value) ? value.toLowerCase() : undefined;
}

function text(value: unknown, max: number): string | undefined {
  if (typeof value !== "string") return undefined;
  const trimmed = value.trim();
  return trimmed && trimmed.length <= max ? trimmed : undefined;
}

export function isStatus(value: unknown): value is DocumentStatus {
  return typeof value === "string" && (DOCUMENT_STATUSES as readonly string[]).includes(value);
}

/** Drops what is undefined, so the address shows only the filters in use. */
function defined<T extends object>(record: T): T {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined)) as T;
}

/** Whatever the address says, only filters the API accepts: a stale link shows the list, not an error. */
export function parseLibrarySearch(search: Record<string, unknown>): LibrarySearch {
  return defined({
    client_id: id(search.client_id),
    folder_id: id(search.folder_id),
    document_type: text(search.document_type, MAX_TYPE),
    tag: text(search.tag, MAX_TAG),
    status: isStatus(search.status) ? search.status : undefined,
    deleted: search.deleted === true || search.deleted === "true" ? true : undefined,
  });
}

export function parseDocumentSearch(search: Record<string, unknown>): DocumentSearch {
  const q = typeof search.q === "string" ? search.q.trim().slice(0, MAX_QUERY) : "";
  return defined({
    q: q || undefined,
    client_id: id(search.client_id),
    document_type: text(search.document_type, MAX_TYPE),
    tag: text(search.tag, MAX_TAG),
    status: isStatus(search.status) ? search.status : undefined,
  });
}

export function hasLibraryFilters(search: LibrarySearch): boolean {
  return Boolean(search.folder_id || search.document_type || search.tag || search.status);
}

/** A document type as a label: "tax_return" reads "Tax return". */
export function typeLabel(documentType: string): string {
  const words = documentType.replace(/[_-]+/g, " ").trim();
  return words ? words.charAt(0).toUpperCase() + words.slice(1) : documentType;
}
