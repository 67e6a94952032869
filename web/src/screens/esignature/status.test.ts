import { describe, expect, it } from "vitest";

import { actionsFor, correctable, eventLabel, isEnvelopeStatus } from "./status";

describe("statuses and actions", () => {
  it("offers each action only in the state the API allows it", () => {
    expect(actionsFor("draft")).toEqual({ edit: true, void: false, remind: false, resend: false, correct: false });
    expect(actionsFor("sent")).toEqual({ edit: false, void: true, remind: true, resend: false, correct: true });
    expect(actionsFor("expired")).toEqual({ edit: false, void: false, remind: false, resend: true, correct: false });
    expect(actionsFor("completed")).toEqual({ edit: false, void: false, remind: false, resend: false, correct: false });
  });

  it("corrects only recipients who have not signed or declined", () => {
    expect(correctable("sent", "viewed")).toBe(true);
    expect(correctable("sent", "signed")).toBe(false);
    expect(correctable("sent", "declined")).toBe(false);
    expect(correctable("completed", "sent")).toBe(false);
    expect(correctable("draft", "created")).toBe(true);
  });

  it("names events, and an unknown one as written", () => {
    expect(eventLabel("code_verified")).toBe("Code verified");
    expect(eventLabel("brand_new_thing")).toBe("brand new thing");
    expect(isEnvelopeStatus("voided")).toBe(true);
    expect(isEnvelopeStatus("lost")).toBe(false);
  });
});
