import { describe, expect, it } from "vitest";

import { formatDate, formatDateTime, todayIn, toCsv } from "./format";

describe("dates", () => {
  it("shows a moment in the firm's time zone", () => {
    const iso = "2026-12-07T23:30:00Z";
    expect(formatDateTime(iso, "UTC")).toContain("7 Dec 2026");
    expect(formatDateTime(iso, "Asia/Tokyo")).toContain("8 Dec 2026");
  });

  it("shows a calendar date without shifting it", () => {
    expect(formatDate("2026-01-31")).toBe("31 Jan 2026");
  });

  it("knows today's date in a time zone", () => {
    const now = new Date("2026-12-07T23:30:00Z");
    expect(todayIn("UTC", now)).toBe("2026-12-07");
    expect(todayIn("Asia/Tokyo", now)).toBe("2026-12-08");
  });
});

describe("toCsv", () => {
  it("quotes what needs quoting", () => {
    expect(toCsv([["line", "error"], [3, 'bad "email", twice']])).toBe(
      'line,error\r\n3,"bad ""email"", twice"\r\n',
    );
  });
});
