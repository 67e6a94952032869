import type { Problem, ProblemItem } from "@/api/problem";
import type { SigningField } from "./types";

/** What the signer typed or ticked, by field id (a checkbox is "true" or "false"). */
export type FieldValues = Record<string, string>;

/** The kinds whose value the signer gives; the server fills the others when they sign. */
const FILLED_BY_SIGNER = new Set(["text", "checkbox"]);

/** US Letter, for a page whose size the API did not give. */
const DEFAULT_PAGE: [number, number] = [612, 792];

const clamp = (value: number, low: number, high: number) => Math.min(high, Math.max(low, value));
const percent = (fraction: number) => `${(fraction * 100).toFixed(3)}%`;

/** Where a field sits over its page image, in percentages of the page (so it scales with it). */
export function overlayBox(field: Pick<SigningField, "x" | "y" | "width" | "height">) {
  const x = clamp(field.x, 0, 1);
  const y = clamp(field.y, 0, 1);
  return {
    left: percent(x),
    top: percent(y),
    width: percent(clamp(field.width, 0, 1 - x)),
    height: percent(clamp(field.height, 0, 1 - y)),
  };
}

/** A page's width over its height. */
export function pageAspect(size: readonly number[] | undefined): number {
  const [width, height] = size && size.length === 2 ? size : DEFAULT_PAGE;
  return width && height && width > 0 && height > 0 ? width / height : DEFAULT_PAGE[0] / DEFAULT_PAGE[1];
}

/**
 * The preview width to ask the API for, for a page shown ``cssWidth`` pixels wide: sharp on
 * the screen's pixel ratio, in steps of 200 px so a resize seldom asks again, within the
 * API's 200..1600.
 */
export function previewWidth(cssWidth: number, pixelRatio: number): number {
  const wanted = cssWidth * Math.max(1, pixelRatio || 1);
  return clamp(Math.ceil(wanted / 200) * 200, 200, 1600);
}

/** The text size of a field's input: most of its box's height on the page as shown. */
export function fieldFontPx(field: Pick<SigningField, "height">, pageWidthPx: number, aspect: number): number {
  return clamp(Math.round(field.height * (pageWidthPx / aspect) * 0.6), 10, 22);
}

export function fieldsOnPage(fields: readonly SigningField[], documentId: string, page: number) {
  return fields.filter((field) => field.envelope_document_id === documentId && field.page === page);
}

export function initialValues(fields: readonly SigningField[]): FieldValues {
  const values: FieldValues = {};
  for (const field of fields) {
    if (field.kind === "text") values[field.id] = field.value ?? "";
    if (field.kind === "checkbox") values[field.id] = field.value === "true" ? "true" : "false";
  }
  return values;
}

/**
 * The `fields` of the sign request: one entry per field the signer fills, in the order the
 * API listed them. A problem's pointer `/fields/<index>/…` indexes this array.
 */
export function fieldsPayload(fields: readonly SigningField[], values: FieldValues) {
  return fields
    .filter((field) => FILLED_BY_SIGNER.has(field.kind))
    .map((field) => ({ field_id: field.id, value: values[field.id] ?? "" }));
}

/** Whether the signer adopts a signature, and initials, before finishing. */
export function adoptionNeeded(role: string, fields: readonly SigningField[]) {
  return {
    signature: role === "signer",
    initials: fields.some((field) => field.kind === "initials"),
  };
}

/** The ids of the required fields still empty: a signature box is filled by the adoption. */
export function missingRequired(
  fields: readonly SigningField[],
  values: FieldValues,
  adopted: { signature: boolean; initials: boolean },
): string[] {
  return fields
    .filter((field) => {
      if (!field.required) return false;
      switch (field.kind) {
        case "text":
          return !(values[field.id] ?? "").trim();
        case "checkbox":
          return values[field.id] !== "true";
        case "signature":
          return !adopted.signature;
        case "initials":
          return !adopted.initials;
        case "date_signed":
          return false;
      }
      return false;
    })
    .map((field) => field.id);
}

export interface PlacedErrors {
  /** The first error of each field, by field id. */
  byField: Record<string, string>;
  signature?: string;
  initials?: string;
  /** Errors that name none of these: the alert lists them. */
  other: ProblemItem[];
}

/**
 * The sign request's problem, each error on what its pointer names: `/fields/<i>/…` on the
 * field sent at index i, `/signature…` and `/initials…` on the adopted marks.
 */
export function placeErrors(problem: Problem, sent: readonly { field_id: string }[]): PlacedErrors {
  const placed: PlacedErrors = { byField: {}, other: [] };
  for (const item of problem.errors ?? []) {
    const parts = (item.pointer ?? "").split("/").slice(1);
    const [head, index] = parts;
    const fieldId = head === "fields" && index !== undefined && /^\d+$/.test(index) ? sent[Number(index)]?.field_id : undefined;
    if (fieldId !== undefined) {
      placed.byField[fieldId] ??= item.detail;
    } else if (head === "signature" || head === "initials") {
      placed[head] ??= item.detail;
    } else {
      placed.other.push(item);
    }
  }
  return placed;
}
