import { describe, expect, it } from "vitest";

import { fieldLabel, formPayload, initialValues, type FormField } from "./approvalForm";

const fields: Record<string, FormField> = {
  amount: { type: "number", required: true },
  count: { type: "integer" },
  account: { type: "choice", choices: ["travel", "meals"] },
  paid: { type: "boolean" },
  note: { type: "text", label: "Note for the employee" },
  on: { type: "date" },
};

describe("approval forms", () => {
  it("starts every field empty", () => {
    expect(initialValues(fields)).toEqual({
      amount: "",
      count: "",
      account: null,
      paid: false,
      note: "",
      on: null,
    });
  });

  it("sends the filled fields, numbers as numbers", () => {
    expect(
      formPayload(fields, { amount: "1750.5", count: 3, account: "travel", paid: false, note: "", on: null }),
    ).toEqual({ amount: 1750.5, count: 3, account: "travel", paid: false });
  });

  it("labels a field by its label or its name", () => {
    expect(fieldLabel("note", fields.note as FormField)).toBe("Note for the employee");
    expect(fieldLabel("booking_account", { type: "string" })).toBe("Booking account");
  });
});
