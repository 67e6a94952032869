import { describe, expect, it } from "vitest";

import { initialsOf } from "./marks";

describe("initialsOf", () => {
  it("takes each word's first letter, at most three", () => {
    expect(initialsOf("ada lovelace")).toBe("AL");
    expect(initialsOf("  Jean  Paul Marie Sartre ")).toBe("JPM");
    expect(initialsOf("")).toBe("");
  });
});
