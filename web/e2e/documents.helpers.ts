import { expect, type APIRequestContext, type Locator, type Page } from "@playwright/test";

export interface FileSpec {
  name: string;
  mimeType: string;
  text?: string;
  bytes?: number[];
}

function bufferOf(file: FileSpec): Buffer {
  return file.bytes ? Buffer.from(file.bytes) : Buffer.from(file.text ?? "");
}

/** A new document uploaded through the API; its id. */
export async function uploadDocument(
  api: APIRequestContext,
  file: FileSpec,
  fields: Record<string, string> = {},
): Promise<string> {
  const answer = await api.post("/v1/documents", {
    multipart: { ...fields, file: { name: file.name, mimeType: file.mimeType, buffer: bufferOf(file) } },
  });
  expect(answer.status(), await answer.text()).toBe(201);
  return ((await answer.json()) as { id: string }).id;
}

/** The firm's largest upload, its other document settings unchanged. */
export async function limitUploads(api: APIRequestContext, bytes: number): Promise<void> {
  const settings = (await (await api.get("/v1/firm/document-settings")).json()) as Record<string, unknown>;
  // What the firm stores is read-only: the PUT takes the settings alone.
  delete settings.bytes_used;
  const answer = await api.put("/v1/firm/document-settings", { data: { ...settings, upload_limit_bytes: bytes } });
  expect(answer.status(), await answer.text()).toBe(200);
}

/** Drops files onto ``target`` as a person dragging them from the desktop would. */
export async function dropFiles(page: Page, target: Locator, files: FileSpec[]): Promise<void> {
  const transfer = await page.evaluateHandle(
    (specs) => {
      const data = new DataTransfer();
      for (const spec of specs) {
        data.items.add(new File([new Uint8Array(spec.content)], spec.name, { type: spec.mimeType }));
      }
      return data;
    },
    files.map((file) => ({ name: file.name, mimeType: file.mimeType, content: [...bufferOf(file)] })),
  );
  await target.dispatchEvent("dragenter", { dataTransfer: transfer });
  await target.dispatchEvent("drop", { dataTransfer: transfer });
}

/** Bytes that sniff as a Windows executable whatever the file is called. */
export const EXECUTABLE: number[] = [0x4d, 0x5a, 0x90, 0x00, 0x03, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0xff, 0xff, 0x00, 0x00, ...Array.from({ length: 112 }, () => 0)];
