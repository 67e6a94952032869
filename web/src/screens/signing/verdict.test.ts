import { describe, expect, it } from "vitest";

import { verdictOf } from "./verdict";

describe("verdictOf", () => {
  it("reads the seal, its integrity, then whose key made it", () => {
    expect(verdictOf({ sealed: true, intact: true, firmflow: true })).toBe("intact");
    expect(verdictOf({ sealed: true, intact: false, firmflow: true })).toBe("altered");
    expect(verdictOf({ sealed: true, intact: false, firmflow: false })).toBe("altered");
    expect(verdictOf({ sealed: true, intact: true, firmflow: false })).toBe("foreign");
    expect(verdictOf({ sealed: false, intact: false, firmflow: false })).toBe("unsealed");
  });
});
