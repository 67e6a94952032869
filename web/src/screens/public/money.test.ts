import { describe, expect, it } from "vitest";

import { fromMinor, minorDigits } from "./money";

describe("fromMinor", () => {
  it("places the decimal point by the currency's minor unit", () => {
    expect(fromMinor(12_345, "USD")).toBe("123.45");
    expect(fromMinor(5, "EUR")).toBe("0.05");
    expect(fromMinor(0, "USD")).toBe("0.00");
    expect(fromMinor(1_500, "JPY")).toBe("1500");
    expect(fromMinor(-250, "GBP")).toBe("-2.50");
  });

  it("knows the currencies without cents", () => {
    expect(minorDigits("JPY")).toBe(0);
    expect(minorDigits("USD")).toBe(2);
  });
});
