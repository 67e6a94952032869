import { describe, expect, it } from "vitest";

import {
  adoptionNeeded,
  fieldFontPx,
  fieldsOnPage,
  fieldsPayload,
  initialValues,
  missingRequired,
  overlayBox,
  pageAspect,
  placeErrors,
  previewWidth,
} from "./fields";
import type { SigningField } from "./types";

function field(id: string, kind: SigningField["kind"], extra: Partial<SigningField> = {}): SigningField {
  return {
    id,
    envelope_document_id: "d1",
    kind,
    page: 1,
    x: 0.1,
    y: 0.2,
    width: 0.3,
    height: 0.05,
    required: true,
    label: null,
    value: null,
    ...extra,
  };
}

describe("overlayBox", () => {
  it("places a field by its fractions of the page", () => {
    expect(overlayBox({ x: 0.1, y: 0.25, width: 0.3, height: 0.05 })).toEqual({
      left: "10.000%",
      top: "25.000%",
      width: "30.000%",
      height: "5.000%",
    });
  });

  it("keeps a field that overflows inside the page", () => {
    expect(overlayBox({ x: 0.9, y: -0.1, width: 0.3, height: 1.5 })).toEqual({
      left: "90.000%",
      top: "0.000%",
      width: "10.000%",
      height: "100.000%",
    });
  });
});

describe("pageAspect", () => {
  it("is width over height, US Letter when unknown or broken", () => {
    expect(pageAspect([595, 842])).toBeCloseTo(0.7067, 3);
    expect(pageAspect(undefined)).toBeCloseTo(612 / 792);
    expect(pageAspect([0, 0])).toBeCloseTo(612 / 792);
    expect(pageAspect([1])).toBeCloseTo(612 / 792);
  });
});

describe("previewWidth", () => {
  it("asks for the shown width times the pixel ratio, in 200 px steps within 200..1600", () => {
    expect(previewWidth(360, 1)).toBe(400);
    expect(previewWidth(360, 3)).toBe(1200);
    expect(previewWidth(700, 2)).toBe(1400);
    expect(previewWidth(1200, 2)).toBe(1600);
    expect(previewWidth(50, 1)).toBe(200);
    expect(previewWidth(400, 0)).toBe(400);
  });
});

describe("fieldFontPx", () => {
  it("follows the box's height on the page as shown, within 10..22 px", () => {
    // A 5% high box on a Letter page 612 px wide (792 px high): 39.6 px high → 24 → 22.
    expect(fieldFontPx({ height: 0.05 }, 612, 612 / 792)).toBe(22);
    expect(fieldFontPx({ height: 0.03 }, 612, 612 / 792)).toBe(14);
    expect(fieldFontPx({ height: 0.01 }, 300, 612 / 792)).toBe(10);
  });
});

describe("fieldsOnPage", () => {
  it("keeps one document's one page", () => {
    const fields = [field("a", "text"), field("b", "text", { page: 2 }), field("c", "text", { envelope_document_id: "d2" })];
    expect(fieldsOnPage(fields, "d1", 1).map((each) => each.id)).toEqual(["a"]);
  });
});

describe("values and the sign request", () => {
  const fields = [
    field("sig", "signature"),
    field("name", "text", { value: "Ada" }),
    field("date", "date_signed"),
    field("ok", "checkbox", { required: false }),
    field("note", "text", { required: false }),
  ];

  it("starts from the stored values; only text and checkboxes are sent, in the API's order", () => {
    const values = initialValues(fields);
    expect(values).toEqual({ name: "Ada", ok: "false", note: "" });
    values.ok = "true";
    expect(fieldsPayload(fields, values)).toEqual([
      { field_id: "name", value: "Ada" },
      { field_id: "ok", value: "true" },
      { field_id: "note", value: "" },
    ]);
  });

  it("lists the required fields still empty, signature boxes filled by the adoption", () => {
    const values = { name: "  ", ok: "false", note: "" };
    expect(missingRequired(fields, values, { signature: false, initials: false })).toEqual(["sig", "name"]);
    expect(missingRequired(fields, { ...values, name: "Ada" }, { signature: true, initials: false })).toEqual([]);
    const ticked = [field("terms", "checkbox"), field("ini", "initials")];
    expect(missingRequired(ticked, { terms: "false" }, { signature: true, initials: false })).toEqual(["terms", "ini"]);
    expect(missingRequired(ticked, { terms: "true" }, { signature: true, initials: true })).toEqual([]);
  });

  it("asks signers for a signature, and for initials only when a field wants them", () => {
    expect(adoptionNeeded("signer", fields)).toEqual({ signature: true, initials: false });
    expect(adoptionNeeded("approver", [field("i", "initials")])).toEqual({ signature: false, initials: true });
  });
});

describe("placeErrors", () => {
  const sent = [
    { field_id: "name", value: "" },
    { field_id: "ok", value: "false" },
  ];
  const problem = (errors: { pointer?: string; detail: string }[]) => ({
    type: "about:blank",
    title: "Invalid",
    status: 422,
    detail: "Fix the fields.",
    instance: "/v1/signing/r1/sign",
    errors: errors.map((error) => ({ ...error, pointer: error.pointer ?? null })),
  });

  it("puts each pointer's error on the field sent at its index, or on the signature", () => {
    const placed = placeErrors(
      problem([
        { pointer: "/fields/1/value", detail: "Tick the box" },
        { pointer: "/fields/0", detail: "Required" },
        { pointer: "/fields/0/value", detail: "Second error" },
        { pointer: "/signature/text", detail: "Type your name" },
        { pointer: "/initials", detail: "Add your initials" },
      ]),
      sent,
    );
    expect(placed.byField).toEqual({ ok: "Tick the box", name: "Required" });
    expect(placed.signature).toBe("Type your name");
    expect(placed.initials).toBe("Add your initials");
    expect(placed.other).toEqual([]);
  });

  it("leaves errors about nothing it sent to the alert", () => {
    const placed = placeErrors(
      problem([{ pointer: "/fields/7/value", detail: "Unknown" }, { pointer: "", detail: "Whole body" }, { detail: "None" }]),
      sent,
    );
    expect(placed.byField).toEqual({});
    expect(placed.other.map((item) => item.detail)).toEqual(["Unknown", "Whole body", "None"]);
  });
});
