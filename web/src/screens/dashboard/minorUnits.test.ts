import { describe, expect, it } from "vitest";

import { formatMinor, minorDigits, toMajor } from "./minorUnits";

describe("minor units", () => {
  it("knows each currency's digits", () => {
    expect(minorDigits("USD")).toBe(2);
    expect(minorDigits("JPY")).toBe(0);
    expect(minorDigits("KWD")).toBe(3);
  });

  it("converts and formats cents", () => {
    expect(toMajor(123_450, "USD")).toBe(1234.5);
    expect(formatMinor(123_450, "USD")).toBe("$1,234.50");
    expect(formatMinor(5000, "JPY")).toBe("¥5,000");
  });
});
