import { readCookie } from "@/api/client";
import { ApiProblem, problemOf } from "@/api/problem";
import { TOKEN_HEADER } from "./token";
import type { Adopted, SigningView, VerifyResult } from "./types";

/**
 * The public signing and verify endpoints. The link's token goes in a header on every call
 * (never in the path or query, which servers and proxies log); every refusal is thrown as the
 * API's problem, as the app's API client does.
 */
async function call(path: string, init: RequestInit & { token?: string }): Promise<Response> {
  const { token, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (token !== undefined) headers.set(TOKEN_HEADER, token);
  // A staff member signed in on the same browser has a session cookie: the CSRF check then
  // wants its double-submit header on every change, as the app's client sends it.
  const csrf = readCookie("ff_csrf");
  if (csrf && (rest.method ?? "GET") !== "GET") headers.set("X-CSRF-Token", csrf);
  let response: Response;
  try {
    response = await fetch(path, { ...rest, headers, credentials: "same-origin" });
  } catch {
    throw new ApiProblem(problemOf(0, null, path));
  }
  if (!response.ok) {
    const body: unknown = await response.json().catch(() => null);
    const retryAfter = Number(response.headers.get("Retry-After"));
    throw new ApiProblem(
      problemOf(response.status, body, path),
      Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : null,
    );
  }
  return response;
}

function post(path: string, token: string, body?: unknown): Promise<Response> {
  return call(path, {
    method: "POST",
    token,
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? null : JSON.stringify(body),
  });
}

const base = (recipientId: string) => `/v1/signing/${encodeURIComponent(recipientId)}`;

export interface SignRequest {
  signature?: Adopted;
  initials?: Adopted;
  fields: { field_id: string; value: string }[];
}

export const signingApi = {
  async view(recipientId: string, token: string): Promise<SigningView> {
    return (await (await call(base(recipientId), { token })).json()) as SigningView;
  },
  async pageImage(recipientId: string, token: string, documentId: string, page: number, width: number): Promise<Blob> {
    const path = `${base(recipientId)}/documents/${encodeURIComponent(documentId)}/pages/${page}?width=${width}`;
    return (await call(path, { token })).blob();
  },
  async consent(recipientId: string, token: string): Promise<void> {
    await post(`${base(recipientId)}/consent`, token, { accepted: true });
  },
  async sendCode(recipientId: string, token: string): Promise<void> {
    await post(`${base(recipientId)}/code`, token);
  },
  async verifyCode(recipientId: string, token: string, code: string): Promise<void> {
    await post(`${base(recipientId)}/code/verify`, token, { code });
  },
  async sign(recipientId: string, token: string, body: SignRequest): Promise<void> {
    await post(`${base(recipientId)}/sign`, token, body);
  },
  async decline(recipientId: string, token: string, reason: string): Promise<void> {
    await post(`${base(recipientId)}/decline`, token, { reason });
  },
};

/** Anyone's check of a PDF's seal. */
export async function verifyPdf(file: File): Promise<VerifyResult> {
  const form = new FormData();
  form.append("file", file, file.name);
  return (await (await call("/v1/signatures/verify", { method: "POST", body: form })).json()) as VerifyResult;
}
