import { afterEach, describe, expect, it } from "vitest";

import { forgetTokens, parseSigningSearch, rememberToken, tokenFor, withoutToken } from "./token";

afterEach(forgetTokens);

describe("parseSigningSearch", () => {
  it("keeps a non-empty token and drops everything else", () => {
    expect(parseSigningSearch({ t: "abc.def", other: "x" })).toEqual({ t: "abc.def" });
    expect(parseSigningSearch({ t: "" })).toEqual({});
    expect(parseSigningSearch({ t: 42 })).toEqual({});
    expect(parseSigningSearch({})).toEqual({});
  });
});

describe("the token store", () => {
  it("remembers a token per recipient, the newest winning", () => {
    expect(tokenFor("r1")).toBeUndefined();
    rememberToken("r1", "first");
    rememberToken("r2", "other");
    rememberToken("r1", "second");
    expect(tokenFor("r1")).toBe("second");
    expect(tokenFor("r2")).toBe("other");
  });
});

describe("withoutToken", () => {
  it("strips t and keeps the path, the other parameters and the fragment", () => {
    expect(withoutToken("https://app.example/sign/r1?t=abc")).toBe("/sign/r1");
    expect(withoutToken("https://app.example/sign/r1?x=1&t=abc&y=2#top")).toBe("/sign/r1?x=1&y=2#top");
  });
});
