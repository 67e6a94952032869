import { describe, expect, it } from "vitest";

import { agingBars, chartCurrency, monthLabel, revenueBars } from "./reportSeries";

describe("dashboard chart data", () => {
  it("prefers the firm's currency", () => {
    expect(chartCurrency(["EUR", "USD"], "USD")).toBe("USD");
    expect(chartCurrency(["EUR"], "USD")).toBe("EUR");
    expect(chartCurrency([], "USD")).toBeNull();
  });

  it("turns aging totals into bars in major units", () => {
    const bars = agingBars({
      currency: "USD",
      current: 10_000,
      days_1_30: 250,
      days_31_60: 0,
      days_61_90: 0,
      days_over_90: 99,
      total: 10_349,
    });
    expect(bars[0]).toEqual({ bucket: "Not yet due", owed: 100 });
    expect(bars[1]?.owed).toBe(2.5);
    expect(bars[4]).toEqual({ bucket: "Over 90 days", owed: 0.99 });
  });

  it("labels a month", () => {
    expect(monthLabel("2026-03")).toBe("Mar 2026");
  });

  it("fills months without figures and keeps one currency", () => {
    const bars = revenueBars(
      [
        { month: "2026-01", currency: "USD", net_invoiced: 12_000, net_received: 5_000 },
        { month: "2026-01", currency: "EUR", net_invoiced: 1, net_received: 1 },
      ],
      "USD",
      "2025-12-01",
      "2026-01-31",
    );
    expect(bars).toEqual([
      { month: "Dec 2025", invoiced: 0, received: 0 },
      { month: "Jan 2026", invoiced: 120, received: 50 },
    ]);
  });
});
