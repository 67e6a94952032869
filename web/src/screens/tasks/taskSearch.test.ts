import { describe, expect, it } from "vitest";

import { isOverdue, parseTaskSearch, taskQuery } from "./taskSearch";

describe("task filters", () => {
  it("keeps only valid filters from the address", () => {
    expect(
      parseTaskSearch({
        view: "all",
        status: "done",
        due_after: "2026-01-01",
        due_before: "tomorrow",
        client: "not-a-uuid",
      }),
    ).toEqual({ view: "all", status: "done", due_after: "2026-01-01" });
    expect(parseTaskSearch({ view: "mine", status: "lost" })).toEqual({});
  });

  it("asks for my open tasks by default", () => {
    expect(taskQuery({})).toEqual({ assignee: "me", status: "open" });
    expect(
      taskQuery({ view: "all", status: "any", client: "c1", due_before: "2026-02-01" }),
    ).toEqual({ client_id: "c1", due_before: "2026-02-01" });
  });

  it("calls an open task due before today overdue", () => {
    expect(isOverdue({ status: "open", due_date: "2026-12-06" }, "2026-12-07")).toBe(true);
    expect(isOverdue({ status: "open", due_date: "2026-12-07" }, "2026-12-07")).toBe(false);
    expect(isOverdue({ status: "done", due_date: "2026-12-01" }, "2026-12-07")).toBe(false);
    expect(isOverdue({ status: "open", due_date: null }, "2026-12-07")).toBe(false);
  });
});
