import { describe, expect, it } from "vitest";

import { monthsBetween } from "./months";

describe("monthsBetween", () => {
  it("lists each month of the range, across a new year", () => {
    expect(monthsBetween("2025-11-15", "2026-02-01")).toEqual(["2025-11", "2025-12", "2026-01", "2026-02"]);
  });

  it("is one month when both days fall in it, and none when the range is backwards", () => {
    expect(monthsBetween("2026-03-01", "2026-03-31")).toEqual(["2026-03"]);
    expect(monthsBetween("2026-04-01", "2026-03-31")).toEqual([]);
  });
});
