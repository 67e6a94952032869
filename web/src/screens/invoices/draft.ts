import type { components } from "@/api/schema";
import { minorToInput, parseMinor } from "@/lib/money";

/** An amount that is not one is sent as NaN, which JSON writes as null, so the API names the field. */
export const NOT_AN_AMOUNT = Number.NaN;

type InvoiceCreate = components["schemas"]["InvoiceCreate"];
type InvoiceRead = components["schemas"]["InvoiceRead"];

/** A line as the editor holds it: named like the API's fields, so error pointers land. */
export interface LineValues {
  /** Only for React's list keys; never sent. */
  key: string;
  description: string;
  quantity: string;
  /** In major units, as typed ("12.50"). */
  unit_price: string;
  tax_rate_ids: string[];
}

export interface DraftValues extends Record<string, unknown> {
  client_id: string | null;
  currency: string;
  issue_date: string;
  due_date: string;
  notes: string;
  discount: { kind: "" | "percent" | "amount"; value: string };
  lines: LineValues[];
}

let lineSerial = 0;

export function blankLine(): LineValues {
  lineSerial += 1;
  return { key: `line-${lineSerial}`, description: "", quantity: "1", unit_price: "", tax_rate_ids: [] };
}

export function blankDraft(currency: string, clientId: string | null = null): DraftValues {
  return {
    client_id: clientId,
    currency,
    issue_date: "",
    due_date: "",
    notes: "",
    discount: { kind: "", value: "" },
    lines: [blankLine()],
  };
}

/** "2.5000" as "2.5": the API keeps four decimals, people type fewer. */
export function trimDecimal(value: string | number): string {
  const text = String(value);
  return text.includes(".") ? text.replace(/0+$/, "").replace(/\.$/, "") : text;
}

/** The editor's values for a saved draft. */
export function draftValues(invoice: InvoiceRead): DraftValues {
  const kind = invoice.discount_kind === "percent" || invoice.discount_kind === "amount" ? invoice.discount_kind : "";
  const discountValue =
    kind === "amount"
      ? minorToInput(Number(invoice.discount_value), invoice.currency)
      : kind === "percent"
        ? trimDecimal(invoice.discount_value)
        : "";
  return {
    client_id: invoice.client_id,
    currency: invoice.currency,
    issue_date: invoice.issue_date ?? "",
    due_date: invoice.due_date ?? "",
    notes: invoice.notes ?? "",
    discount: { kind, value: discountValue },
    lines: invoice.lines.map((line) => ({
      ...blankLine(),
      description: line.description,
      quantity: trimDecimal(line.quantity),
      unit_price: minorToInput(line.unit_price, invoice.currency),
      tax_rate_ids: line.taxes.map((tax) => tax.tax_rate_id),
    })),
  };
}

/**
 * The body the API checks: amounts become minor units of the chosen currency; what cannot be
 * read as an amount goes as null, so the API's answer names that field.
 */
export function draftBody(values: DraftValues): InvoiceCreate & { currency: string } {
  const currency = values.currency.trim().toUpperCase();
  const discountValue =
    values.discount.kind === "amount" ? parseMinor(values.discount.value, currency) ?? NOT_AN_AMOUNT : values.discount.value.trim();
  return {
    client_id: values.client_id ?? "",
    currency,
    issue_date: values.issue_date || null,
    due_date: values.due_date || null,
    notes: values.notes.trim() === "" ? null : values.notes,
    discount:
      values.discount.kind === "" ? null : { kind: values.discount.kind, value: discountValue },
    lines: values.lines.map((line) => ({
      description: line.description,
      quantity: line.quantity.trim(),
      unit_price: parseMinor(line.unit_price, currency) ?? NOT_AN_AMOUNT,
      tax_rate_ids: line.tax_rate_ids,
    })),
  };
}
