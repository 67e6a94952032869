import type { BuilderDocument, Party, PlacedField } from "./builderModel";
import { FIELD_KINDS, type FieldKind } from "./geometry";
import { fillsFields, recipientColour } from "./recipients";

/** A template's field as the API holds it: placed for a role, on a library document. */
export interface TemplateField {
  role_key: string;
  document_id: string;
  kind: FieldKind;
  page: number;
  x: number;
  y: number;
  width: number;
  height: number;
  required: boolean;
  label: string | null;
}

interface SavedField extends Omit<TemplateField, "kind" | "required" | "label"> {
  kind: string;
  required?: boolean;
  label?: string | null;
}

interface Role {
  key: string;
  name: string;
  role: string;
}

/** One of the template's documents as the API measured it (no pages when it has a problem). */
interface MeasuredDocument {
  document_id: string;
  title: string | null;
  page_sizes: number[][];
  problem: string | null;
}

function isKind(kind: string): kind is FieldKind {
  return (FIELD_KINDS as readonly string[]).includes(kind);
}

/** The template's saved fields as the builder edits them: each role is a party, each library document a document. */
export function placedTemplateFields(fields: readonly SavedField[]): PlacedField[] {
  return fields.flatMap((field, index) =>
    isKind(field.kind)
      ? [
          {
            key: `saved-${index}`,
            party: field.role_key,
            document: field.document_id,
            kind: field.kind,
            page: field.page,
            x: field.x,
            y: field.y,
            width: field.width,
            height: field.height,
            required: field.required ?? true,
            label: field.label ?? "",
          },
        ]
      : [],
  );
}

/** The builder's fields as the template PATCH takes them. */
export function templateFieldSpecs(fields: readonly PlacedField[]): TemplateField[] {
  return fields.map((field) => ({
    role_key: field.party,
    document_id: field.document,
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
 * The roles that fill fields, in the colour the roles editor gives their place. A role
 * gets its key when the template is saved, so a role added since has no fields yet.
 */
export function roleParties(roles: readonly Role[]): Party[] {
  return roles.flatMap((role, index) =>
    role.key && fillsFields(role.role) ? [{ key: role.key, label: role.name || role.key, colour: recipientColour(index) }] : [],
  );
}

/**
 * The documents fields can be placed on: those the template was saved with, still chosen
 * in the form, and readable (a document moved to the bin has no pages to show).
 */
export function templateBuilderDocuments(
  measured: readonly MeasuredDocument[],
  chosen: readonly string[],
  pageUrl: (documentId: string, page: number, width: number) => string,
): BuilderDocument[] {
  return measured
    .filter((document) => chosen.includes(document.document_id) && !document.problem && document.page_sizes.length > 0)
    .map((document) => ({
      key: document.document_id,
      title: document.title ?? "Untitled document",
      pageSizes: document.page_sizes,
      pageUrl: (page, width) => pageUrl(document.document_id, page, width),
    }));
}

/**
 * The fields a save keeps: those of a role that still fills fields, on a document still in
 * the template, on a page it has. The rest would be refused by the server (a role removed
 * or made a copy recipient, a document taken out) and are dropped, as the form says.
 */
export function keptFields(
  fields: readonly PlacedField[],
  parties: readonly Party[],
  documents: readonly BuilderDocument[],
): PlacedField[] {
  const partyKeys = new Set(parties.map((party) => party.key));
  const pages = new Map(documents.map((document) => [document.key, document.pageSizes.length]));
  return fields.filter((field) => partyKeys.has(field.party) && field.page <= (pages.get(field.document) ?? 0));
}
