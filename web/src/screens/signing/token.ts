/**
 * The signing link's token. The emailed link carries it in the address (`?t=`); the page takes
 * it from there once, keeps it in this tab's memory only (never localStorage or
 * sessionStorage: it lets anyone holding it sign), and takes it out of the address bar so it
 * does not linger in the history, a bookmark or a screenshot. Every call sends it in the
 * `X-Signing-Token` header, never in a path or query the server could log.
 */

export const TOKEN_HEADER = "X-Signing-Token";

export interface SigningSearch {
  /** The signed token of the emailed link, present only until the page has taken it. */
  t?: string;
}

export function parseSigningSearch(search: Record<string, unknown>): SigningSearch {
  return typeof search.t === "string" && search.t ? { t: search.t } : {};
}

const tokens = new Map<string, string>();

/** Keeps the token for this recipient's page (a newer link replaces an older one). */
export function rememberToken(recipientId: string, token: string): void {
  tokens.set(recipientId, token);
}

/** The token this tab was given for the recipient, if any. */
export function tokenFor(recipientId: string): string | undefined {
  return tokens.get(recipientId);
}

/** Forgets every token (the tests' reset; a reload forgets them too). */
export function forgetTokens(): void {
  tokens.clear();
}

/** The address without its `t` parameter, the rest of the query and the fragment kept. */
export function withoutToken(href: string): string {
  const url = new URL(href);
  url.searchParams.delete("t");
  return url.pathname + url.search + url.hash;
}
