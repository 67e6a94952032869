import { describe, expect, it } from "vitest";

import { formatMinor, minorDigits } from "./money";

describe("formatMinor", () => {
  it("shows cents as the currency's amount", () => {
    expect(formatMinor(123450, "USD")).toBe("$1,234.50");
    expect(formatMinor(5, "USD")).toBe("$0.05");
    expect(formatMinor(-250, "EUR")).toBe("-€2.50");
  });

  it("knows currencies without a minor unit", () => {
    expect(minorDigits("JPY")).toBe(0);
    expect(formatMinor(1200, "JPY")).toBe("¥1,200");
  });

  it("shows a dash for no amount", () => {
    expect(formatMinor(null, "USD")).toBe("—");
  });
});
