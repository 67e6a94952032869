import { api, data } from "@/api/client";
import type { components } from "@/api/schema";
import { TOKEN_HEADER } from "./token";
import type { SigningView, VerifyResult } from "./types";

export type SignRequest = components["schemas"]["SignCreate"];

/**
 * The public signing endpoints, through the app's API client (its refusals thrown as the
 * API's problem). The link's token goes in a header on every call, never in the path or
 * query, which servers and proxies log.
 */
function link(recipientId: string, token: string) {
  return { path: { recipient_id: recipientId }, header: { [TOKEN_HEADER]: token } };
}

export const signingApi = {
  async view(recipientId: string, token: string): Promise<SigningView> {
    return data(await api.GET("/v1/signing/{recipient_id}", { params: link(recipientId, token) }));
  },
  async pageImage(recipientId: string, token: string, documentId: string, page: number, width: number): Promise<Blob> {
    const { path, header } = link(recipientId, token);
    const answer = await api.GET("/v1/signing/{recipient_id}/documents/{envelope_document_id}/pages/{page}", {
      params: { path: { ...path, envelope_document_id: documentId, page }, header, query: { width } },
      parseAs: "blob",
    });
    return answer.data as Blob;
  },
  async consent(recipientId: string, token: string): Promise<SigningView> {
    return data(
      await api.POST("/v1/signing/{recipient_id}/consent", { params: link(recipientId, token), body: { accepted: true } }),
    );
  },
  async sendCode(recipientId: string, token: string): Promise<void> {
    await api.POST("/v1/signing/{recipient_id}/code", { params: link(recipientId, token) });
  },
  async verifyCode(recipientId: string, token: string, code: string): Promise<void> {
    await api.POST("/v1/signing/{recipient_id}/code/verify", { params: link(recipientId, token), body: { code } });
  },
  async sign(recipientId: string, token: string, body: SignRequest): Promise<SigningView> {
    return data(await api.POST("/v1/signing/{recipient_id}/sign", { params: link(recipientId, token), body }));
  },
  async decline(recipientId: string, token: string, reason: string): Promise<void> {
    await api.POST("/v1/signing/{recipient_id}/decline", { params: link(recipientId, token), body: { reason } });
  },
};

/** Anyone's check of a PDF's seal. */
export async function verifyPdf(file: File): Promise<VerifyResult> {
  return data(
    await api.POST("/v1/signatures/verify", {
      // The generated type names the part a string (OpenAPI's "binary"); the browser sends the file.
      body: { file: file as unknown as string },
      bodySerializer: () => {
        const form = new FormData();
        form.append("file", file, file.name);
        return form;
      },
    }),
  );
}
