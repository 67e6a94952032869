import createClient, { type Middleware } from "openapi-fetch";

import { ApiProblem, problemOf } from "./problem";
import type { paths } from "./schema";

const CSRF_COOKIE = "ff_csrf";
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export function readCookie(name: string): string | null {
  for (const part of document.cookie.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return null;
}

/** The session cookie signs requests in; unsafe ones echo the CSRF cookie (double submit). */
const csrf: Middleware = {
  onRequest({ request }) {
    if (!SAFE_METHODS.has(request.method.toUpperCase())) {
      const token = readCookie(CSRF_COOKIE);
      if (token) request.headers.set("X-CSRF-Token", token);
    }
    return request;
  },
};

/** Every error answer becomes an ApiProblem, thrown, so queries and mutations fail with it. */
const problems: Middleware = {
  async onResponse({ response, request }) {
    if (response.ok) return response;
    const body: unknown = await response
      .clone()
      .json()
      .catch(() => null);
    const retryAfter = Number(response.headers.get("Retry-After"));
    throw new ApiProblem(
      problemOf(response.status, body, new URL(request.url).pathname),
      Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : null,
    );
  },
  onError({ request }) {
    return new ApiProblem(problemOf(0, null, new URL(request.url).pathname));
  },
};

export const api = createClient<paths>({
  baseUrl: typeof window === "undefined" ? "http://127.0.0.1" : window.location.origin,
  credentials: "same-origin",
});
api.use(csrf, problems);

/** The data of a successful call; the middleware has already thrown for every error. */
export function data<T>(result: { data?: T; error?: unknown }): T {
  return result.data as T;
}
