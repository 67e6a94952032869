import { describe, expect, it } from "vitest";

import { safeNext } from "./session";

describe("safeNext", () => {
  it("keeps a path of this app", () => {
    expect(safeNext("/approvals/42?x=1")).toBe("/approvals/42?x=1");
  });

  it.each([["https://evil.example/"], ["//evil.example/x"], [42], [undefined], ["/sign-in"]])(
    "sends %s home instead",
    (next) => {
      expect(safeNext(next)).toBe("/");
    },
  );
});
