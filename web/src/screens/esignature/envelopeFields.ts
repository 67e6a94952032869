import type { BuilderDocument, Party, PlacedField } from "./builderModel";
import { FIELD_KINDS, type FieldKind } from "./geometry";
import { fillsFields, recipientColour } from "./recipients";

interface Field {
  recipient_id: string;
  envelope_document_id: string;
  kind: string;
  page: number;
  x: number;
  y: number;
  width: number;
  height: number;
  required: boolean;
  label?: string | null;
}

interface Recipient {
  id: string;
  name: string;
  email: string;
  role: string;
}

interface Document {
  id: string;
  title: string;
  page_sizes: number[][];
}

function isKind(kind: string): kind is FieldKind {
  return (FIELD_KINDS as readonly string[]).includes(kind);
}

/** The envelope's saved fields as the builder edits them. */
export function placedFields(fields: readonly Field[]): PlacedField[] {
  return fields.flatMap((field, index) =>
    isKind(field.kind)
      ? [
          {
            key: `saved-${index}`,
            party: field.recipient_id,
            document: field.envelope_document_id,
            kind: field.kind,
            page: field.page,
            x: field.x,
            y: field.y,
            width: field.width,
            height: field.height,
            required: field.required,
            label: field.label ?? "",
          },
        ]
      : [],
  );
}

/** The builder's fields as ``PUT /v1/envelopes/{id}/fields`` takes them. */
export function fieldSpecs(fields: readonly PlacedField[]) {
  return fields.map((field) => ({
    recipient_id: field.party,
    envelope_document_id: field.document,
    kind: field.kind,
    page: field.page,
    x: field.x,
    y: field.y,
    width: field.width,
    height: field.height,
    required: field.required,
    label: field.label.trim() || null,
  }));
}

/**
 * The recipients who fill fields, each in the colour of their place among all recipients
 * (the same colour on the detail page's list).
 */
export function recipientParties(recipients: readonly Recipient[]): Party[] {
  return recipients.flatMap((recipient, index) =>
    fillsFields(recipient.role)
      ? [{ key: recipient.id, label: `${recipient.name} (${recipient.email})`, colour: recipientColour(index) }]
      : [],
  );
}

export function builderDocuments(
  documents: readonly Document[],
  pageUrl: (documentId: string, page: number, width: number) => string | null,
): BuilderDocument[] {
  return documents.map((document) => ({
    key: document.id,
    title: document.title,
    pageSizes: document.page_sizes,
    pageUrl: (page, width) => pageUrl(document.id, page, width),
  }));
}
