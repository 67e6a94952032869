// Loaded apart from the dashboard (React.lazy): recharts is large, and the dashboard's
// heading and panels must not wait for it.
import "@mantine/charts/styles.css";

import { BarChart } from "@mantine/charts";
import type { ReactNode } from "react";

import { agingBars, revenueBars, type AgingTotals, type RevenueRow } from "./reportSeries";
import { formatMinor } from "@/lib/money";

function major(currency: string) {
  return (value: number) =>
    new Intl.NumberFormat("en-US", { style: "currency", currency, maximumFractionDigits: 0 }).format(
      value,
    );
}

/** A chart named for screen readers: a figure may carry a label, a plain div may not. */
function Figure({ label, children }: { label: string; children: ReactNode }) {
  return (
    <figure aria-label={label} style={{ margin: 0 }}>
      {children}
    </figure>
  );
}

export function AgingChart({ totals }: { totals: AgingTotals }) {
  return (
    <Figure label={`Receivables by days past due, ${formatMinor(totals.total, totals.currency)} in all`}>
      <BarChart
        h={220}
        data={agingBars(totals)}
        dataKey="bucket"
        series={[{ name: "owed", label: "Owed", color: "indigo.8" }]}
        valueFormatter={major(totals.currency)}
        tickLine="none"
        gridAxis="y"
      />
    </Figure>
  );
}

interface RevenueProps {
  rows: RevenueRow[];
  currency: string;
  from: string;
  to: string;
}

export function RevenueChart({ rows, currency, from, to }: RevenueProps) {
  return (
    <Figure label={`Revenue by month in ${currency}: invoiced and received`}>
      <BarChart
        h={220}
        data={revenueBars(rows, currency, from, to)}
        dataKey="month"
        series={[
          { name: "invoiced", label: "Invoiced", color: "indigo.8" },
          { name: "received", label: "Received", color: "teal.8" },
        ]}
        valueFormatter={major(currency)}
        withLegend
        tickLine="none"
        gridAxis="y"
      />
    </Figure>
  );
}
