import { describe, expect, it } from "vitest";

import { expiryFrom, tokenStatus } from "./tokens";

const now = new Date("2026-12-07T12:00:00Z");

describe("tokenStatus", () => {
  it("is revoked once revoked, whatever its expiry", () => {
    expect(tokenStatus({ revoked_at: "2026-12-01T00:00:00Z", expires_at: null }, now)).toBe("revoked");
  });

  it("is expired after its expiry", () => {
    expect(tokenStatus({ revoked_at: null, expires_at: "2026-12-07T11:59:59Z" }, now)).toBe("expired");
  });

  it("is active otherwise", () => {
    expect(tokenStatus({ revoked_at: null, expires_at: null }, now)).toBe("active");
    expect(tokenStatus({ revoked_at: null, expires_at: "2027-01-01T00:00:00Z" }, now)).toBe("active");
  });
});

describe("expiryFrom", () => {
  it("adds the chosen days", () => {
    expect(expiryFrom("30", now)).toBe("2027-01-06T12:00:00.000Z");
  });

  it.each([["never"], [""], ["-3"], ["1.5"]])("sends none for %j", (choice) => {
    expect(expiryFrom(choice, now)).toBeUndefined();
  });
});
