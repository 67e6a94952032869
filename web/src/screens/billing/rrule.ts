/**
 * The recurrence builder's model: what a member picks (frequency, interval, weekdays or
 * month days, an end) and the RRULE the API stores. The API takes the end apart from the
 * rule (``count`` or ``ends_on`` beside ``rrule``; COUNT and UNTIL inside it are refused),
 * so the builder writes the rule without them and shows the full RFC 5545 line for reading.
 */

export const FREQUENCIES = ["DAILY", "WEEKLY", "MONTHLY", "YEARLY"] as const;
export type Frequency = (typeof FREQUENCIES)[number];

export const WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** The most INTERVAL the API accepts for each frequency. */
export const MAX_INTERVAL: Record<Frequency, number> = {
  DAILY: 366,
  WEEKLY: 52,
  MONTHLY: 12,
  YEARLY: 10,
};

export type RuleEnd =
  | { kind: "never" }
  | { kind: "count"; count: number }
  | { kind: "until"; until: string };

export interface RuleState {
  frequency: Frequency;
  interval: number;
  /** Weekly: the days it fires on; empty means the start's weekday. */
  byWeekday: Weekday[];
  /** Monthly: the days of the month (1..31, -1 the last); empty means the start's day. */
  byMonthDay: number[];
  end: RuleEnd;
}

/** What the API stores: the rule and, beside it, its end. */
export interface ApiSchedule {
  rrule: string;
  count: number | null;
  ends_on: string | null;
}

export const DEFAULT_RULE: RuleState = {
  frequency: "MONTHLY",
  interval: 1,
  byWeekday: [],
  byMonthDay: [],
  end: { kind: "never" },
};

function sortedWeekdays(days: Weekday[]): Weekday[] {
  return WEEKDAYS.filter((day) => days.includes(day));
}

function sortedMonthDays(days: number[]): number[] {
  // The last day (-1) reads best after the 31st.
  const key = (day: number) => (day < 0 ? 100 - day : day);
  return [...new Set(days)].sort((a, b) => key(a) - key(b));
}

/** The rule the API stores, in its canonical order (FREQ, INTERVAL, BYDAY, BYMONTHDAY). */
export function toRrule(state: RuleState): string {
  const parts = [`FREQ=${state.frequency}`];
  if (state.interval > 1) parts.push(`INTERVAL=${state.interval}`);
  if (state.frequency === "WEEKLY" && state.byWeekday.length > 0) {
    parts.push(`BYDAY=${sortedWeekdays(state.byWeekday).join(",")}`);
  }
  if (state.frequency === "MONTHLY" && state.byMonthDay.length > 0) {
    parts.push(`BYMONTHDAY=${sortedMonthDays(state.byMonthDay).join(",")}`);
  }
  return parts.join(";");
}

/** The schedule fields of a create or update request. */
export function toApiSchedule(state: RuleState): ApiSchedule {
  return {
    rrule: toRrule(state),
    count: state.end.kind === "count" ? state.end.count : null,
    ends_on: state.end.kind === "until" ? state.end.until : null,
  };
}

/** The whole rule as RFC 5545 writes it, COUNT or UNTIL included: what the builder shows. */
export function toRuleText(state: RuleState): string {
  const rule = `RRULE:${toRrule(state)}`;
  if (state.end.kind === "count") return `${rule};COUNT=${state.end.count}`;
  if (state.end.kind === "until") return `${rule};UNTIL=${state.end.until.replace(/-/g, "")}`;
  return rule;
}

export class RuleParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RuleParseError";
  }
}

function isFrequency(value: string): value is Frequency {
  return (FREQUENCIES as readonly string[]).includes(value);
}

function isWeekday(value: string): value is Weekday {
  return (WEEKDAYS as readonly string[]).includes(value);
}

function wholeNumber(name: string, raw: string): number {
  if (!/^[+-]?\d+$/.test(raw)) throw new RuleParseError(`${name} must be a whole number, not "${raw}"`);
  return Number(raw);
}

/** "20301231" or "20301231T235959Z" as "2030-12-31". */
function untilDate(raw: string): string {
  const match = /^(\d{4})(\d{2})(\d{2})(T\d{6}Z?)?$/.exec(raw);
  if (!match) throw new RuleParseError(`UNTIL must be a date such as 20301231, not "${raw}"`);
  return `${match[1]}-${match[2]}-${match[3]}`;
}

/**
 * A rule (as the API stores it, or a full RRULE line with COUNT or UNTIL) back into the
 * builder's state. Parts the builder cannot show (BYMONTH, BYSETPOS, positioned weekdays)
 * are a RuleParseError: the caller keeps such a rule as text.
 */
export function parseRrule(text: string, end?: { count: number | null; ends_on: string | null }): RuleState {
  const body = text.trim().toUpperCase().replace(/^RRULE:/, "");
  if (!body) throw new RuleParseError("the rule is empty");
  const parts = new Map<string, string>();
  for (const item of body.split(";")) {
    const [name, value] = item.split("=", 2);
    if (!name || value === undefined || value === "") {
      throw new RuleParseError(`"${item}" is not NAME=VALUE`);
    }
    if (parts.has(name)) throw new RuleParseError(`${name} appears twice`);
    parts.set(name, value);
  }
  const frequency = parts.get("FREQ");
  if (frequency === undefined) throw new RuleParseError("FREQ is required");
  if (!isFrequency(frequency)) {
    throw new RuleParseError("FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY");
  }
  const state: RuleState = { ...DEFAULT_RULE, frequency, byWeekday: [], byMonthDay: [] };
  for (const [name, value] of parts) {
    switch (name) {
      case "FREQ":
        break;
      case "INTERVAL": {
        const interval = wholeNumber(name, value);
        if (interval < 1 || interval > MAX_INTERVAL[frequency]) {
          throw new RuleParseError(`INTERVAL must be 1 to ${MAX_INTERVAL[frequency]} for ${frequency}`);
        }
        state.interval = interval;
        break;
      }
      case "BYDAY": {
        if (frequency !== "WEEKLY") throw new RuleParseError("BYDAY is built for weekly rules only");
        const days = value.split(",");
        const unknown = days.find((day) => !isWeekday(day));
        if (unknown !== undefined) throw new RuleParseError(`BYDAY "${unknown}" is not a weekday`);
        state.byWeekday = sortedWeekdays(days.filter(isWeekday));
        break;
      }
      case "BYMONTHDAY": {
        if (frequency !== "MONTHLY") {
          throw new RuleParseError("BYMONTHDAY is built for monthly rules only");
        }
        const days = value.split(",").map((day) => wholeNumber(name, day));
        const wrong = days.find((day) => day === 0 || day < -1 || day > 31);
        if (wrong !== undefined) throw new RuleParseError(`BYMONTHDAY ${wrong} is not 1 to 31 or -1`);
        state.byMonthDay = sortedMonthDays(days);
        break;
      }
      case "COUNT":
        state.end = { kind: "count", count: wholeNumber(name, value) };
        break;
      case "UNTIL":
        state.end = { kind: "until", until: untilDate(value) };
        break;
      default:
        throw new RuleParseError(`${name} is not something the builder makes; edit the rule as text`);
    }
  }
  if (end?.count != null) state.end = { kind: "count", count: end.count };
  else if (end?.ends_on != null) state.end = { kind: "until", until: end.ends_on };
  return state;
}

/** A rule in a few words, e.g. "Every 2 months on the 1st and the last day". */
export function describeRule(state: RuleState): string {
  const unit = { DAILY: "day", WEEKLY: "week", MONTHLY: "month", YEARLY: "year" }[state.frequency];
  let text = state.interval === 1 ? `Every ${unit}` : `Every ${state.interval} ${unit}s`;
  if (state.frequency === "WEEKLY" && state.byWeekday.length > 0) {
    text += ` on ${sortedWeekdays(state.byWeekday).map((day) => WEEKDAY_NAMES[day]).join(", ")}`;
  }
  if (state.frequency === "MONTHLY" && state.byMonthDay.length > 0) {
    text += ` on ${sortedMonthDays(state.byMonthDay).map(monthDayName).join(", ")}`;
  }
  if (state.end.kind === "count") {
    text += `, ${state.end.count} time${state.end.count === 1 ? "" : "s"}`;
  }
  if (state.end.kind === "until") text += `, until ${state.end.until}`;
  return text;
}

export const WEEKDAY_NAMES: Record<Weekday, string> = {
  MO: "Monday",
  TU: "Tuesday",
  WE: "Wednesday",
  TH: "Thursday",
  FR: "Friday",
  SA: "Saturday",
  SU: "Sunday",
};

export function monthDayName(day: number): string {
  if (day === -1) return "the last day";
  const suffix =
    day % 10 === 1 && day !== 11 ? "st" : day % 10 === 2 && day !== 12 ? "nd" : day % 10 === 3 && day !== 13 ? "rd" : "th";
  return `the ${day}${suffix}`;
}
