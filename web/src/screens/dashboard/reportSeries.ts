import { monthsBetween } from "@/lib/months";
import { toMajor } from "@/lib/money";

export interface AgingTotals {
  currency: string;
  current: number;
  days_1_30: number;
  days_31_60: number;
  days_61_90: number;
  days_over_90: number;
  total: number;
}

export interface RevenueRow {
  month: string;
  currency: string;
  net_invoiced: number;
  net_received: number;
}

const BUCKETS = [
  ["current", "Not yet due"],
  ["days_1_30", "1–30 days"],
  ["days_31_60", "31–60 days"],
  ["days_61_90", "61–90 days"],
  ["days_over_90", "Over 90 days"],
] as const;

/** The currency a chart shows: the firm's own when it has figures in it, else the first. */
export function chartCurrency(currencies: string[], firmCurrency: string): string | null {
  if (currencies.includes(firmCurrency)) return firmCurrency;
  return currencies[0] ?? null;
}

/** One bar per bucket of days past due, in major units. */
export function agingBars(totals: AgingTotals): { bucket: string; owed: number }[] {
  return BUCKETS.map(([key, label]) => ({ bucket: label, owed: toMajor(totals[key], totals.currency) }));
}

/** "2026-03" → "Mar 2026". */
export function monthLabel(month: string): string {
  const [year, number] = month.split("-").map(Number);
  if (!year || !number) return month;
  return new Intl.DateTimeFormat("en-GB", { month: "short", year: "numeric", timeZone: "UTC" }).format(
    new Date(Date.UTC(year, number - 1, 1)),
  );
}

/** Invoiced and received per month in one currency, months without figures at zero. */
export function revenueBars(
  rows: RevenueRow[],
  currency: string,
  from: string,
  to: string,
): { month: string; invoiced: number; received: number }[] {
  const byMonth = new Map(rows.filter((row) => row.currency === currency).map((row) => [row.month, row]));
  return monthsBetween(from, to).map((month) => {
    const row = byMonth.get(month);
    return {
      month: monthLabel(month),
      invoiced: toMajor(row?.net_invoiced ?? 0, currency),
      received: toMajor(row?.net_received ?? 0, currency),
    };
  });
}
