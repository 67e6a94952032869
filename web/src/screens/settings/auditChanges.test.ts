import { describe, expect, it } from "vitest";

import { auditChanges, displayValue, fieldLabel } from "./auditChanges";

describe("auditChanges", () => {
  it("pairs each field's value before and after", () => {
    expect(auditChanges({ before: { role: "staff" }, after: { role: "admin" } })).toEqual([
      { field: "Role", before: "staff", after: "admin" },
    ]);
  });

  it("leaves the missing side null: a creation has only an after", () => {
    expect(auditChanges({ after: { email: "a@b.test", client_id: null } })).toEqual([
      { field: "Email", before: null, after: "a@b.test" },
      { field: "Client id", before: null, after: "(empty)" },
    ]);
  });

  it("has nothing to show for an empty summary", () => {
    expect(auditChanges({})).toEqual([]);
    expect(auditChanges({ before: null, after: "odd" })).toEqual([]);
  });
});

describe("displayValue", () => {
  it("writes values for people", () => {
    expect(displayValue(true)).toBe("Yes");
    expect(displayValue(false)).toBe("No");
    expect(displayValue(["10.0.0.0/8", "intranet"])).toBe("10.0.0.0/8, intranet");
    expect(displayValue([])).toBe("(none)");
    expect(displayValue({ finance: "admin" })).toBe('{"finance":"admin"}');
  });
});

describe("fieldLabel", () => {
  it("turns a field name into words", () => {
    expect(fieldLabel("require_two_factor")).toBe("Require two factor");
  });
});
