import { describe, expect, it } from "vitest";

import { actorOf, automationRunIds, changesOf, titleOf, type AuditEvent } from "./timeline";

const RUN = "0b9f7c1e-8a52-4c43-9b43-3f3a0a4f1a11";
const IMPORT = "5d0c0a4e-1111-4c43-9b43-3f3a0a4f1a22";

function event(overrides: Partial<AuditEvent>): AuditEvent {
  return {
    id: crypto.randomUUID(),
    actor_type: "system",
    actor_id: null,
    action: "client.updated",
    record_type: "client",
    record_id: "c",
    summary: {},
    request_id: null,
    created_at: "2026-12-07T10:00:00Z",
    ...overrides,
  };
}

describe("actorOf", () => {
  it("names a member, an automation run, an import, or the system", () => {
    expect(actorOf(event({ actor_type: "user", actor_id: "u1" }))).toEqual({ kind: "user", userId: "u1" });
    expect(actorOf(event({ request_id: `automation-run-${RUN}` }))).toEqual({ kind: "automation", runId: RUN });
    expect(actorOf(event({ request_id: `client-import-${IMPORT}` }))).toEqual({ kind: "import", importId: IMPORT });
    expect(actorOf(event({ request_id: "outbox:1" }))).toEqual({ kind: "system" });
  });
});

describe("changesOf", () => {
  it("lists the fields that changed, in words", () => {
    const changes = changesOf(
      event({
        summary: {
          before: { name: "Old", tags: [], updated_at: "a" },
          after: { name: "New", tags: ["vip", "tax"], updated_at: "b" },
        },
      }),
    );
    expect(changes).toEqual([
      { field: "name", before: "Old", after: "New" },
      { field: "tags", before: null, after: "vip, tax" },
    ]);
  });

  it("shows a creation's values and skips the empty ones", () => {
    const changes = changesOf(event({ summary: { after: { name: "Acme", email: null, custom_fields: {} } } }));
    expect(changes).toEqual([{ field: "name", before: null, after: "Acme" }]);
  });
});

describe("titleOf", () => {
  it("says what happened, or the action's name when it is new", () => {
    expect(titleOf("client.archived")).toBe("Archived the client");
    expect(titleOf("client.merged")).toBe("client.merged");
  });
});

describe("automationRunIds", () => {
  it("lists each run once", () => {
    const events = [
      event({ request_id: `automation-run-${RUN}` }),
      event({ actor_id: "u1" }),
      event({ request_id: `automation-run-${RUN}` }),
    ];
    expect(automationRunIds(events)).toEqual([RUN]);
  });
});
