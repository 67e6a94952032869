import { readCookie } from "@/api/client";
import { ApiProblem, problemOf } from "@/api/problem";

const CSRF_COOKIE = "ff_csrf";

export interface UploadRequest {
  /** The API path, e.g. /v1/documents. */
  path: string;
  form: FormData;
  /** Sent as Idempotency-Key, so a retried upload does not make a second document. */
  idempotencyKey?: string;
  onProgress: (loaded: number, total: number) => void;
  signal?: AbortSignal;
}

/**
 * A multipart upload with progress. fetch reports no upload progress, so this uses
 * XMLHttpRequest, signed in by the session cookie with the CSRF header the api client adds to
 * every unsafe request; an error answer rejects with the same ApiProblem the api client throws.
 */
export function uploadWithProgress<T>({ path, form, idempotencyKey, onProgress, signal }: UploadRequest): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", path);
    request.withCredentials = true;
    request.setRequestHeader("Accept", "application/json");
    const token = readCookie(CSRF_COOKIE);
    if (token) request.setRequestHeader("X-CSRF-Token", token);
    if (idempotencyKey) request.setRequestHeader("Idempotency-Key", idempotencyKey);
    request.upload.onprogress = (event) => onProgress(event.loaded, event.lengthComputable ? event.total : 0);
    request.onload = () => {
      const body = parsed(request.responseText);
      if (request.status >= 200 && request.status < 300) {
        resolve(body as T);
        return;
      }
      const retryAfter = Number(request.getResponseHeader("Retry-After"));
      reject(
        new ApiProblem(
          problemOf(request.status, body, path),
          Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : null,
        ),
      );
    };
    // The server may refuse a too-large file before reading it all and close the connection.
    request.onerror = () => reject(new ApiProblem(problemOf(0, null, path)));
    request.onabort = () => reject(new DOMException("The upload was canceled.", "AbortError"));
    signal?.addEventListener("abort", () => request.abort(), { once: true });
    request.send(form);
  });
}

function parsed(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}
