import { expect, type APIRequestContext } from "@playwright/test";

import { uploadDocument } from "./documents.helpers";

/**
 * A one-page US Letter PDF with a line of text, written out with its cross-reference table's
 * byte offsets, so every PDF reader (pypdf, PDFium) opens it without repairing it.
 */
export function onePagePdf(text: string): number[] {
  const stream = `BT /F1 18 Tf 72 720 Td (${text.replace(/[()\\]/g, "")}) Tj ET`;
  const objects = [
    "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
    "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`,
  ];
  let body = "%PDF-1.4\n";
  const offsets = objects.map((object, index) => {
    const offset = body.length;
    body += `${index + 1} 0 obj\n${object}\nendobj\n`;
    return offset;
  });
  const xref = body.length;
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  body += offsets.map((offset) => `${String(offset).padStart(10, "0")} 00000 n \n`).join("");
  body += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return [...Buffer.from(body, "latin1")];
}

export interface SentEnvelope {
  envelopeId: string;
  recipientId: string;
}

interface EnvelopeRead {
  id: string;
  documents: { id: string }[];
  recipients: { id: string }[];
}

/**
 * An envelope sent through the staff API: a one-page PDF uploaded to the library, one signer,
 * a signature box and a required "Company name" text field on the page.
 */
export async function sendEnvelope(
  api: APIRequestContext,
  title: string,
  signer: { name: string; email: string; require_code?: boolean },
): Promise<SentEnvelope> {
  const documentId = await uploadDocument(api, { name: "engagement-letter.pdf", mimeType: "application/pdf", bytes: onePagePdf(title) }, { title });
  const created = await api.post("/v1/envelopes", {
    data: {
      title,
      message: "Please sign the engagement letter.",
      document_ids: [documentId],
      recipients: [{ ...signer, role: "signer", routing_order: 1 }],
    },
  });
  expect(created.status(), await created.text()).toBe(201);
  const envelope = (await created.json()) as EnvelopeRead;
  const [document] = envelope.documents;
  const [recipient] = envelope.recipients;
  if (!document || !recipient) throw new Error("the envelope has no document or no recipient");
  const placed = { recipient_id: recipient.id, envelope_document_id: document.id, page: 1, required: true };
  const fields = await api.put(`/v1/envelopes/${envelope.id}/fields`, {
    data: {
      fields: [
        { ...placed, kind: "text", label: "Company name", x: 0.12, y: 0.5, width: 0.4, height: 0.04 },
        { ...placed, kind: "signature", x: 0.12, y: 0.7, width: 0.4, height: 0.07 },
      ],
    },
  });
  expect(fields.status(), await fields.text()).toBe(200);
  const sent = await api.post(`/v1/envelopes/${envelope.id}/send`);
  expect(sent.status(), await sent.text()).toBe(200);
  return { envelopeId: envelope.id, recipientId: recipient.id };
}
