import type { Box, FieldKind } from "./geometry";

/** A document the builder lays fields on: its pages' sizes in points and where their previews are. */
export interface BuilderDocument {
  key: string;
  title: string;
  /** [[width, height], …] in PDF points, one per page. */
  pageSizes: number[][];
  /** The preview of page ``page`` (1-based) rendered ``width`` pixels wide; null when none can be shown. */
  pageUrl: (page: number, width: number) => string | null;
}

/** Who fills a field: an envelope's recipient, or a template's role. */
export interface Party {
  key: string;
  label: string;
  colour: string;
}

export interface PlacedField extends Box {
  /** The builder's own id for the field (the API gives fields none until they are saved). */
  key: string;
  party: string;
  document: string;
  kind: FieldKind;
  page: number;
  required: boolean;
  label: string;
}

let counter = 0;

/** A key no other placed field of this page load has. */
export function newFieldKey(): string {
  counter += 1;
  return `field-${counter}`;
}

/** The fields of one page of one document, for drawing it. */
export function fieldsOnPage(fields: readonly PlacedField[], document: string, page: number): PlacedField[] {
  return fields.filter((field) => field.document === document && field.page === page);
}

/** How many fields each party has, for the palette's counts. */
export function countByParty(fields: readonly PlacedField[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const field of fields) counts.set(field.party, (counts.get(field.party) ?? 0) + 1);
  return counts;
}

/** Signers who have no signature field yet: the server refuses to send such an envelope. */
export function signersWithoutSignature(signers: readonly Party[], fields: readonly PlacedField[]): Party[] {
  const signed = new Set(fields.filter((field) => field.kind === "signature").map((field) => field.party));
  return signers.filter((signer) => !signed.has(signer.key));
}

/** The page size of ``page`` (1-based), or a US letter page when the document says nothing. */
export function pageSize(document: BuilderDocument | undefined, page: number): { width: number; height: number } {
  const [width, height] = document?.pageSizes[page - 1] ?? [];
  if (width === undefined || height === undefined || !(width > 0) || !(height > 0)) return { width: 612, height: 792 };
  return { width, height };
}
