import { describe, expect, it } from "vitest";

import { currencyDigits, formatMajor, formatMinor, minorToInput, parseMinor, toMajor } from "./money";

describe("currencyDigits", () => {
  it("knows each currency's minor unit", () => {
    expect(currencyDigits("USD")).toBe(2);
    expect(currencyDigits("JPY")).toBe(0);
    expect(currencyDigits("KWD")).toBe(3);
    expect(currencyDigits("BHD")).toBe(3);
  });
});

describe("formatMinor", () => {
  it("shows minor units in the currency", () => {
    expect(formatMinor(123456, "USD")).toBe("$1,234.56");
    expect(formatMinor(123450, "USD")).toBe("$1,234.50");
    expect(formatMinor(5, "USD")).toBe("$0.05");
    expect(formatMinor(-250, "EUR")).toBe("-€2.50");
  });

  it("knows currencies without a minor unit", () => {
    expect(formatMinor(1200, "JPY")).toBe("¥1,200");
    expect(formatMinor(500, "JPY")).toBe("¥500");
    expect(formatMinor(5000, "JPY")).toBe("¥5,000");
  });

  it("shows a dash for no amount", () => {
    expect(formatMinor(null, "USD")).toBe("—");
  });
});

describe("minorToInput", () => {
  it("places the decimal point by the currency without floating point", () => {
    expect(minorToInput(12345, "USD")).toBe("123.45");
    expect(minorToInput(1250, "USD")).toBe("12.50");
    expect(minorToInput(5, "EUR")).toBe("0.05");
    expect(minorToInput(7, "USD")).toBe("0.07");
    expect(minorToInput(0, "USD")).toBe("0.00");
    expect(minorToInput(-150, "EUR")).toBe("-1.50");
    expect(minorToInput(-250, "GBP")).toBe("-2.50");
    expect(minorToInput(500, "JPY")).toBe("500");
    expect(minorToInput(1500, "JPY")).toBe("1500");
  });
});

describe("toMajor and formatMajor", () => {
  it("turns minor units into a chart's number and formats it back", () => {
    expect(toMajor(123_450, "USD")).toBe(1234.5);
    expect(formatMajor(1234.5, "USD")).toBe("$1,234.50");
    expect(formatMajor(10, "EUR")).toBe("€10.00");
  });
});

describe("parseMinor", () => {
  it("reads typed amounts exactly", () => {
    expect(parseMinor("123.4", "USD")).toBe(12340);
    expect(parseMinor("12.5", "USD")).toBe(1250);
    expect(parseMinor("7", "USD")).toBe(700);
    expect(parseMinor("0.29", "USD")).toBe(29);
    expect(parseMinor("700", "JPY")).toBe(700);
    expect(parseMinor(3, "USD")).toBe(300);
    expect(parseMinor("-1", "USD")).toBe(-100);
  });

  it("reads thousands separators and decimal commas", () => {
    expect(parseMinor("1,200.07", "USD")).toBe(120007);
    expect(parseMinor("12,5", "EUR")).toBe(1250);
  });

  it("refuses what is not an amount in the currency", () => {
    expect(parseMinor("abc", "USD")).toBeNull();
    expect(parseMinor("", "USD")).toBeNull();
    expect(parseMinor("1.005", "USD")).toBeNull();
    expect(parseMinor("1.234", "USD")).toBeNull();
    expect(parseMinor("1.5", "JPY")).toBeNull();
  });
});
