import { describe, expect, it } from "vitest";

import { auditQuery, wallTimeToIso } from "./auditQuery";
import { parseAuditSearch } from "./auditSearch";

describe("parseAuditSearch", () => {
  it("keeps the known filters that hold text, trimmed", () => {
    expect(parseAuditSearch({ actor: " a1 ", action: "", page: "2", record_type: 5 })).toEqual({ actor: "a1" });
  });
});

describe("wallTimeToIso", () => {
  it("reads the time in the firm's zone", () => {
    expect(wallTimeToIso("2026-07-01T09:30", "Europe/Paris")).toBe("2026-07-01T07:30:00.000Z");
    expect(wallTimeToIso("2026-12-01T09:30", "America/New_York")).toBe("2026-12-01T14:30:00.000Z");
    expect(wallTimeToIso("2026-12-01T09:30", "UTC")).toBe("2026-12-01T09:30:00.000Z");
  });

  it("refuses what is not a wall-clock time", () => {
    expect(wallTimeToIso("yesterday", "UTC")).toBeUndefined();
  });
});

describe("auditQuery", () => {
  it("names the API's parameters and leaves out the empty ones", () => {
    expect(auditQuery({ actor: "u1", action: "user.invited", from: "2026-12-01T00:00" }, "Asia/Tokyo")).toEqual({
      actor_id: "u1",
      action: "user.invited",
      from: "2026-11-30T15:00:00.000Z",
    });
  });

  it("passes a time it cannot read to the API, which names the bad parameter", () => {
    expect(auditQuery({ to: "soon" }, "UTC")).toEqual({ to: "soon" });
  });
});
