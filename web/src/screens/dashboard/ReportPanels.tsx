import { Group, Text } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import { lazy, Suspense } from "react";

import { agingTotalsQuery, revenueQuery } from "./dashboardQueries";
import { formatMinor } from "@/lib/money";
import { Panel, PanelSkeleton } from "./Panel";
import { chartCurrency } from "./reportSeries";
import { useMe } from "@/app/session";
import { EmptyState } from "@/components/EmptyState";
import { ProblemAlert } from "@/components/ProblemAlert";

const AgingChart = lazy(() => import("./Charts").then((charts) => ({ default: charts.AgingChart })));
const RevenueChart = lazy(() =>
  import("./Charts").then((charts) => ({ default: charts.RevenueChart })),
);

const CHART_HEIGHT = 220;

export function AgingPanel() {
  const { firm } = useMe();
  const aging = useQuery(agingTotalsQuery);
  const totals = aging.data?.totals ?? [];
  const currency = chartCurrency(
    totals.filter((total) => total.total > 0).map((total) => total.currency),
    firm.default_currency,
  );
  const shown = totals.find((total) => total.currency === currency);
  const others = totals.filter((total) => total !== shown && total.total > 0);

  return (
    <Panel title="Receivables aging" to="/reports" linkLabel="Reports">
      {aging.isPending ? (
        <PanelSkeleton height={CHART_HEIGHT} />
      ) : aging.isError ? (
        <ProblemAlert error={aging.error} />
      ) : !shown ? (
        <EmptyState title="Nothing is owed">
          Invoices sent and not yet paid show here by how long they are past due.
        </EmptyState>
      ) : (
        <>
          <Text size="sm" mb="xs">
            Owed in all: <strong>{formatMinor(shown.total, shown.currency)}</strong>
            {shown.days_1_30 + shown.days_31_60 + shown.days_61_90 + shown.days_over_90 > 0 &&
              `, of which ${formatMinor(shown.total - shown.current, shown.currency)} past due`}
          </Text>
          <Suspense fallback={<PanelSkeleton height={CHART_HEIGHT} />}>
            <AgingChart totals={shown} />
          </Suspense>
          {others.length > 0 && (
            <Text size="xs" c="gray.7" mt="xs">
              Also owed: {others.map((total) => formatMinor(total.total, total.currency)).join(", ")}
            </Text>
          )}
        </>
      )}
    </Panel>
  );
}

export function RevenuePanel() {
  const { firm } = useMe();
  const revenue = useQuery(revenueQuery);
  const report = revenue.data;
  const currency = chartCurrency(
    [...new Set((report?.items ?? []).map((row) => row.currency))],
    firm.default_currency,
  );

  return (
    <Panel title="Revenue by month" to="/reports" linkLabel="Reports">
      {revenue.isPending ? (
        <PanelSkeleton height={CHART_HEIGHT} />
      ) : revenue.isError ? (
        <ProblemAlert error={revenue.error} />
      ) : !report || !currency ? (
        <EmptyState title="No revenue in the last twelve months">
          Issued invoices and the payments received show here month by month.
        </EmptyState>
      ) : (
        <>
          <Group gap="xs" mb="xs">
            <Text size="sm">Invoiced and received per month, in {currency}.</Text>
          </Group>
          <Suspense fallback={<PanelSkeleton height={CHART_HEIGHT} />}>
            <RevenueChart rows={report.items} currency={currency} from={report.from} to={report.to} />
          </Suspense>
        </>
      )}
    </Panel>
  );
}
