import { describe, expect, it } from "vitest";

import {
  DEFAULT_RULE,
  describeRule,
  parseRrule,
  RuleParseError,
  toApiSchedule,
  toRrule,
  toRuleText,
  type RuleState,
} from "./rrule";

const monthly: RuleState = { ...DEFAULT_RULE, frequency: "MONTHLY" };

describe("toRrule", () => {
  it("writes only FREQ for a plain monthly rule", () => {
    expect(toRrule(monthly)).toBe("FREQ=MONTHLY");
  });

  it("writes INTERVAL above 1 and the weekdays of a weekly rule in week order", () => {
    expect(toRrule({ ...DEFAULT_RULE, frequency: "WEEKLY", interval: 2, byWeekday: ["FR", "MO"] })).toBe(
      "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,FR",
    );
  });

  it("writes month days in order, the last day after the 31st, without repeats", () => {
    expect(toRrule({ ...monthly, byMonthDay: [-1, 15, 1, 15] })).toBe("FREQ=MONTHLY;BYMONTHDAY=1,15,-1");
  });

  it("leaves out choices that do not belong to the frequency", () => {
    expect(toRrule({ ...DEFAULT_RULE, frequency: "DAILY", byWeekday: ["MO"], byMonthDay: [3] })).toBe("FREQ=DAILY");
  });
});

describe("toApiSchedule and toRuleText", () => {
  it("puts a count beside the rule, and inside the text shown", () => {
    const state: RuleState = { ...monthly, end: { kind: "count", count: 12 } };
    expect(toApiSchedule(state)).toEqual({ rrule: "FREQ=MONTHLY", count: 12, ends_on: null });
    expect(toRuleText(state)).toBe("RRULE:FREQ=MONTHLY;COUNT=12");
  });

  it("puts an end date beside the rule, and as UNTIL inside the text shown", () => {
    const state: RuleState = { ...monthly, end: { kind: "until", until: "2030-12-31" } };
    expect(toApiSchedule(state)).toEqual({ rrule: "FREQ=MONTHLY", count: null, ends_on: "2030-12-31" });
    expect(toRuleText(state)).toBe("RRULE:FREQ=MONTHLY;UNTIL=20301231");
  });

  it("has no end when none is chosen", () => {
    expect(toApiSchedule(monthly)).toEqual({ rrule: "FREQ=MONTHLY", count: null, ends_on: null });
  });
});

describe("parseRrule", () => {
  it("reads back what toRrule writes", () => {
    const states: RuleState[] = [
      monthly,
      { ...DEFAULT_RULE, frequency: "WEEKLY", interval: 3, byWeekday: ["TU", "TH"] },
      { ...monthly, interval: 2, byMonthDay: [1, -1] },
      { ...DEFAULT_RULE, frequency: "YEARLY" },
      { ...DEFAULT_RULE, frequency: "DAILY", interval: 10 },
    ];
    for (const state of states) expect(parseRrule(toRrule(state))).toEqual(state);
  });

  it("reads a full line with COUNT or UNTIL, prefix and case as anyone writes them", () => {
    expect(parseRrule("rrule:freq=monthly;count=6").end).toEqual({ kind: "count", count: 6 });
    expect(parseRrule("RRULE:FREQ=WEEKLY;UNTIL=20301231T235959Z").end).toEqual({
      kind: "until",
      until: "2030-12-31",
    });
  });

  it("takes the end the API keeps beside the rule", () => {
    expect(parseRrule("FREQ=MONTHLY", { count: 4, ends_on: null }).end).toEqual({ kind: "count", count: 4 });
    expect(parseRrule("FREQ=MONTHLY", { count: null, ends_on: "2031-01-01" }).end).toEqual({
      kind: "until",
      until: "2031-01-01",
    });
  });

  it("refuses what the builder cannot show, saying what", () => {
    expect(() => parseRrule("")).toThrow(RuleParseError);
    expect(() => parseRrule("FREQ=HOURLY")).toThrow(/FREQ must be/);
    expect(() => parseRrule("FREQ=MONTHLY;BYDAY=1MO")).toThrow(/weekly rules only/);
    expect(() => parseRrule("FREQ=WEEKLY;BYDAY=XX")).toThrow(/not a weekday/);
    expect(() => parseRrule("FREQ=MONTHLY;BYSETPOS=1")).toThrow(/as text/);
    expect(() => parseRrule("FREQ=MONTHLY;INTERVAL=13")).toThrow(/1 to 12/);
    expect(() => parseRrule("FREQ=MONTHLY;BYMONTHDAY=32")).toThrow(/not 1 to 31/);
    expect(() => parseRrule("FREQ=MONTHLY;FREQ=WEEKLY")).toThrow(/twice/);
    expect(() => parseRrule("INTERVAL=2")).toThrow(/FREQ is required/);
  });
});

describe("describeRule", () => {
  it("says the rule in words", () => {
    expect(describeRule(monthly)).toBe("Every month");
    expect(describeRule({ ...monthly, interval: 2, byMonthDay: [1, -1], end: { kind: "count", count: 3 } })).toBe(
      "Every 2 months on the 1st, the last day, 3 times",
    );
    expect(describeRule({ ...DEFAULT_RULE, frequency: "WEEKLY", byWeekday: ["MO", "WE"] })).toBe(
      "Every week on Monday, Wednesday",
    );
  });
});
