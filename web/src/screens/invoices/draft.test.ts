import { describe, expect, it } from "vitest";

import { blankDraft, draftBody, draftValues, trimDecimal } from "./draft";

describe("draftBody", () => {
  it("sends amounts in minor units and empty fields as null", () => {
    const values = blankDraft("usd", "c1");
    values.lines = [{ key: "a", description: "Audit", quantity: " 2 ", unit_price: "12.50", tax_rate_ids: ["t"] }];
    values.discount = { kind: "amount", value: "5" };
    expect(draftBody(values)).toEqual({
      client_id: "c1",
      currency: "USD",
      issue_date: null,
      due_date: null,
      notes: null,
      discount: { kind: "amount", value: 500 },
      lines: [{ description: "Audit", quantity: "2", unit_price: 1250, tax_rate_ids: ["t"] }],
    });
  });

  it("lets the API name a price that is not an amount", () => {
    const values = blankDraft("USD", "c1");
    values.lines[0]!.unit_price = "twelve";
    const body = JSON.parse(JSON.stringify(draftBody(values))) as { lines: { unit_price: unknown }[] };
    expect(body.lines[0]?.unit_price).toBeNull();
  });

  it("sends a percent discount as typed", () => {
    const values = blankDraft("USD", "c1");
    values.discount = { kind: "percent", value: "12.5" };
    expect(draftBody(values).discount).toEqual({ kind: "percent", value: "12.5" });
  });
});

describe("draftValues", () => {
  it("shows a saved draft's amounts as people type them", () => {
    expect(trimDecimal("2.5000")).toBe("2.5");
    expect(trimDecimal("3.0000")).toBe("3");
    const values = draftValues({
      currency: "USD",
      client_id: "c1",
      issue_date: null,
      due_date: "2026-12-31",
      notes: null,
      discount_kind: "amount",
      discount_value: "250",
      lines: [{ description: "Audit", quantity: "2.0000", unit_price: 1250, taxes: [] }],
    } as unknown as Parameters<typeof draftValues>[0]);
    expect(values.discount).toEqual({ kind: "amount", value: "2.50" });
    expect(values.lines[0]).toMatchObject({ description: "Audit", quantity: "2", unit_price: "12.50" });
    expect(values.due_date).toBe("2026-12-31");
  });
});
