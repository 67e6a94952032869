import { describe, expect, it } from "vitest";

import { refusalOf } from "./refusal";

const base = "https://firmflow.dev/problems/";

describe("refusalOf", () => {
  it("tells the link's problems apart by status and type", () => {
    expect(refusalOf({ status: 403, type: `${base}signing-link-invalid` })).toBe("invalid");
    expect(refusalOf({ status: 404, type: `${base}not-found` })).toBe("invalid");
    expect(refusalOf({ status: 410, type: `${base}signing-link-expired` })).toBe("expired");
    expect(refusalOf({ status: 410, type: `${base}envelope-closed` })).toBe("closed");
    expect(refusalOf({ status: 409, type: `${base}not-your-turn` })).toBe("not-your-turn");
    expect(refusalOf({ status: 409, type: `${base}recipient-done` })).toBe("answered");
    expect(refusalOf({ status: 503, type: "about:blank" })).toBe("other");
  });
});
