import { api, data } from "@/api/client";

/**
 * Downloads a version through a short-lived signed link (every download is audited by the
 * API when it signs the link); the browser saves it, as the file is never served inline.
 */
export async function downloadVersion(documentId: string, versionId: string): Promise<void> {
  const link = data(
    await api.POST("/v1/documents/{document_id}/versions/{version_id}/download-link", {
      params: { path: { document_id: documentId, version_id: versionId } },
    }),
  );
  const anchor = document.createElement("a");
  anchor.href = link.url;
  anchor.rel = "noopener";
  anchor.click();
}
