import { describe, expect, it } from "vitest";

import { currencyDecimals, decimalToMinor, formatMinor, minorToDecimal } from "./money";

describe("minor units", () => {
  it("knows each currency's decimals", () => {
    expect(currencyDecimals("USD")).toBe(2);
    expect(currencyDecimals("JPY")).toBe(0);
    expect(currencyDecimals("KWD")).toBe(3);
  });

  it("turns minor units into a decimal string without floating point", () => {
    expect(minorToDecimal(12345, "USD")).toBe("123.45");
    expect(minorToDecimal(5, "USD")).toBe("0.05");
    expect(minorToDecimal(-150, "EUR")).toBe("-1.50");
    expect(minorToDecimal(500, "JPY")).toBe("500");
  });

  it("reads what a member types back into minor units", () => {
    expect(decimalToMinor("123.4", "USD")).toBe(12340);
    expect(decimalToMinor("12,5", "EUR")).toBe(1250);
    expect(decimalToMinor("7", "USD")).toBe(700);
    expect(decimalToMinor("1.005", "USD")).toBeNull();
    expect(decimalToMinor("abc", "USD")).toBeNull();
    expect(decimalToMinor("-1", "USD")).toBeNull();
  });

  it("formats in the currency", () => {
    expect(formatMinor(123456, "USD")).toBe("$1,234.56");
  });
});
