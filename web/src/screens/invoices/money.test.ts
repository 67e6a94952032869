import { describe, expect, it } from "vitest";

import { formatMinor, minorDigits, toMajorText, toMinor } from "./money";

describe("minor units", () => {
  it("knows each currency's decimals", () => {
    expect(minorDigits("USD")).toBe(2);
    expect(minorDigits("JPY")).toBe(0);
    expect(minorDigits("BHD")).toBe(3);
  });

  it("formats minor units in the currency", () => {
    expect(formatMinor(123450, "USD")).toBe("$1,234.50");
    expect(formatMinor(500, "JPY")).toBe("¥500");
    expect(formatMinor(null, "USD")).toBe("—");
  });

  it("reads typed amounts exactly, without floating point drift", () => {
    expect(toMinor("12.5", "USD")).toBe(1250);
    expect(toMinor("1,200.07", "USD")).toBe(120007);
    expect(toMinor("0.29", "USD")).toBe(29);
    expect(toMinor("700", "JPY")).toBe(700);
    expect(toMinor(3, "USD")).toBe(300);
  });

  it("refuses what is not an amount in the currency", () => {
    expect(toMinor("abc", "USD")).toBeNaN();
    expect(toMinor("", "USD")).toBeNaN();
    expect(toMinor("1.234", "USD")).toBeNaN();
    expect(toMinor("1.5", "JPY")).toBeNaN();
  });

  it("writes minor units back as the field shows them", () => {
    expect(toMajorText(1250, "USD")).toBe("12.50");
    expect(toMajorText(7, "USD")).toBe("0.07");
    expect(toMajorText(700, "JPY")).toBe("700");
  });
});
