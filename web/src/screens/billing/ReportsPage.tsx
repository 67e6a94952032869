import "@mantine/charts/styles.css";

import { AreaChart, BarChart } from "@mantine/charts";
import { Button, Group, Loader, Paper, Select, Stack, Table, Text, TextInput, Title } from "@mantine/core";
import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { useNavigate, useSearch } from "@tanstack/react-router";
import { useState } from "react";

import { api, data } from "@/api/client";
import type { components } from "@/api/schema";
import { useMe } from "@/app/session";
import { EmptyState } from "@/components/EmptyState";
import { allItems, LoadMore } from "@/components/LoadMore";
import { PageHeader } from "@/components/PageHeader";
import { ProblemAlert } from "@/components/ProblemAlert";
import { downloadText, formatDate, todayIn, toCsv } from "@/lib/format";
import { monthsBetween } from "@/lib/months";
import { formatMajor, formatMinor, minorToInput, toMajor } from "@/lib/money";

type AgingReport = components["schemas"]["AgingReportRead"];
type AgingRow = components["schemas"]["AgingRowRead"];
type RevenueReport = components["schemas"]["RevenueReportRead"];
type RevenueRow = components["schemas"]["RevenueRowRead"];
type Bucket = "current" | "days_1_30" | "days_31_60" | "days_61_90" | "days_over_90";

const BUCKETS: { key: Bucket; label: string }[] = [
  { key: "current", label: "Current" },
  { key: "days_1_30", label: "1–30 days" },
  { key: "days_31_60", label: "31–60 days" },
  { key: "days_61_90", label: "61–90 days" },
  { key: "days_over_90", label: "Over 90 days" },
];

const REVENUE_COLUMNS: { key: Exclude<keyof RevenueRow, "month" | "currency">; label: string }[] = [
  { key: "invoiced", label: "Invoiced" },
  { key: "credited", label: "Credited" },
  { key: "net_invoiced", label: "Net invoiced" },
  { key: "received", label: "Received" },
  { key: "refunded", label: "Refunded" },
  { key: "net_received", label: "Net received" },
];

/** The reports answer in CSV too; this page asks for JSON, so a string answer is a bug. */
function json<T extends object>(body: T | string): T {
  if (typeof body === "string") throw new Error("The report answered CSV where JSON was asked for");
  return body;
}

export function ReportsPage() {
  return (
    <Stack>
      <PageHeader
        title="Reports"
        description="What clients owe by how late it is, and what was invoiced and received each month. Amounts are in each invoice's currency."
      />
      <AgingReportSection />
      <RevenueReportSection />
    </Stack>
  );
}

function useReportSearch() {
  const search = useSearch({ from: "/app/reports" });
  const navigate = useNavigate({ from: "/reports" });
  const set = (changes: Partial<typeof search>) =>
    navigate({ search: (previous) => ({ ...previous, ...changes }), replace: true });
  return [search, set] as const;
}

/** A date input whose value reaches the URL only when it is a whole date. */
function DateField({ label, value, onChange }: { label: string; value: string; onChange: (value: string | undefined) => void }) {
  const [text, setText] = useState(value);
  const [shown, setShown] = useState(value);
  // The report's own dates arrive after the first render: show them when they change.
  if (value !== shown) {
    setShown(value);
    setText(value);
  }
  return (
    <TextInput
      type="date"
      label={label}
      value={text}
      onChange={(event) => {
        const next = event.currentTarget.value;
        setText(next);
        if (next === "" || /^\d{4}-\d{2}-\d{2}$/.test(next)) onChange(next || undefined);
      }}
      w={180}
    />
  );
}

function AgingReportSection() {
  const me = useMe();
  const [search, setSearch] = useReportSearch();
  const asOf = search.as_of;
  const aging = useInfiniteQuery({
    queryKey: ["reports", "aging", asOf ?? null],
    queryFn: async ({ pageParam }): Promise<AgingReport> =>
      json(
        data(
          await api.GET("/v1/reports/receivables-aging", {
            params: { query: { as_of: asOf, limit: 100, cursor: pageParam } },
          }),
        ),
      ),
    initialPageParam: null as string | null,
    getNextPageParam: (page) => page.next_cursor ?? null,
  });
  const first = aging.data?.pages[0];
  const rows = allItems(aging.data?.pages);
  const [downloading, setDownloading] = useState(false);
  const [downloadError, setDownloadError] = useState<unknown>(null);

  const download = async () => {
    setDownloading(true);
    setDownloadError(null);
    try {
      const report = await wholeAgingReport(asOf);
      downloadText(`receivables-aging-${report.as_of}.csv`, agingCsv(report.items));
    } catch (caught) {
      setDownloadError(caught);
    } finally {
      setDownloading(false);
    }
  };

  return (
    <Paper withBorder p="md" radius="md" component="section" aria-labelledby="aging-heading">
      <Group justify="space-between" align="flex-end" mb="sm">
        <div>
          <Title order={2} size="h3" id="aging-heading">
            Receivables aging
          </Title>
          <Text size="sm" c="gray.7">
            {first ? `What each client owes on ${formatDate(first.as_of)}, by days past due.` : "What each client owes, by days past due."}
          </Text>
        </div>
        <Group align="flex-end">
          <DateField
            label="As of"
            value={asOf ?? todayIn(me.firm.time_zone)}
            onChange={(as_of) => setSearch({ as_of })}
          />
          <Button variant="default" onClick={download} loading={downloading} disabled={!first || rows.length === 0}>
            Download aging CSV
          </Button>
        </Group>
      </Group>
      <ProblemAlert error={aging.error ?? downloadError} />
      {aging.isPending && <Loader aria-label="Loading the aging report" />}
      {first && rows.length === 0 && (
        <EmptyState title="Nothing is owed">
          No finalized invoice has a balance on this day. Finalize and send invoices from the Invoices page.
        </EmptyState>
      )}
      {first && rows.length > 0 && (
        <Stack>
          <AgingChart report={first} />
          <AgingTable rows={rows} totals={first.totals} />
          <LoadMore {...aging} />
        </Stack>
      )}
    </Paper>
  );
}

async function wholeAgingReport(asOf: string | undefined): Promise<AgingReport> {
  const items: AgingRow[] = [];
  let cursor: string | null = null;
  let page: AgingReport;
  do {
    page = json(
      data(await api.GET("/v1/reports/receivables-aging", { params: { query: { as_of: asOf, limit: 100, cursor } } })),
    );
    items.push(...page.items);
    cursor = page.next_cursor ?? null;
  } while (cursor !== null);
  return { ...page, items };
}

function agingCsv(rows: AgingRow[]): string {
  return toCsv([
    ["Client", "Currency", ...BUCKETS.map((bucket) => bucket.label), "Total"],
    ...rows.map((row) => [
      row.client_name,
      row.currency,
      ...BUCKETS.map((bucket) => minorToInput(row[bucket.key], row.currency)),
      minorToInput(row.total, row.currency),
    ]),
  ]);
}

function AgingChart({ report }: { report: AgingReport }) {
  const currencies = report.totals.map((total) => total.currency);
  const chartData = BUCKETS.map((bucket) => ({
    bucket: bucket.label,
    ...Object.fromEntries(report.totals.map((total) => [total.currency, toMajor(total[bucket.key], total.currency)])),
  }));
  return (
    <figure style={{ margin: 0 }} aria-label="Chart of the amounts owed by days past due, per currency">
      <BarChart
        h={260}
        data={chartData}
        dataKey="bucket"
        series={currencies.map((currency, index) => ({ name: currency, color: SERIES_COLORS[index % SERIES_COLORS.length] }))}
        withLegend={currencies.length > 1}
        valueFormatter={(value) =>
          currencies.length === 1 && currencies[0] ? formatMajor(value, currencies[0]) : new Intl.NumberFormat("en-US").format(value)
        }
      />
    </figure>
  );
}

const SERIES_COLORS = ["indigo.6", "teal.6", "orange.6", "grape.6"];

function AgingTable({ rows, totals }: { rows: AgingRow[]; totals: AgingReport["totals"] }) {
  return (
    <Table.ScrollContainer minWidth={720}>
      <Table striped aria-label="Receivables aging by client">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Client</Table.Th>
            {BUCKETS.map((bucket) => (
              <Table.Th key={bucket.key} ta="right">
                {bucket.label}
              </Table.Th>
            ))}
            <Table.Th ta="right">Total</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {rows.map((row) => (
            <Table.Tr key={`${row.client_id}-${row.currency}`}>
              <Table.Td>{row.client_name}</Table.Td>
              {BUCKETS.map((bucket) => (
                <Table.Td key={bucket.key} ta="right">
                  {formatMinor(row[bucket.key], row.currency)}
                </Table.Td>
              ))}
              <Table.Td ta="right" fw={600}>
                {formatMinor(row.total, row.currency)}
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
        <Table.Tfoot>
          {totals.map((total) => (
            <Table.Tr key={total.currency}>
              <Table.Th scope="row">All clients ({total.currency})</Table.Th>
              {BUCKETS.map((bucket) => (
                <Table.Td key={bucket.key} ta="right" fw={600}>
                  {formatMinor(total[bucket.key], total.currency)}
                </Table.Td>
              ))}
              <Table.Td ta="right" fw={700}>
                {formatMinor(total.total, total.currency)}
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tfoot>
      </Table>
    </Table.ScrollContainer>
  );
}

function RevenueReportSection() {
  const me = useMe();
  const [search, setSearch] = useReportSearch();
  const revenue = useQuery({
    queryKey: ["reports", "revenue", search.from ?? null, search.to ?? null],
    queryFn: async (): Promise<RevenueReport> =>
      json(data(await api.GET("/v1/reports/revenue", { params: { query: { from: search.from, to: search.to } } }))),
  });
  const report = revenue.data;
  const currencies = [...new Set(report?.items.map((row) => row.currency) ?? [])];
  const [chosenCurrency, setChosenCurrency] = useState<string | null>(null);
  const currency =
    chosenCurrency && currencies.includes(chosenCurrency)
      ? chosenCurrency
      : currencies.includes(me.firm.default_currency)
        ? me.firm.default_currency
        : (currencies[0] ?? me.firm.default_currency);

  const download = () => {
    if (report) downloadText(`revenue-${report.from}-${report.to}.csv`, revenueCsv(report.items));
  };

  return (
    <Paper withBorder p="md" radius="md" component="section" aria-labelledby="revenue-heading">
      <Group justify="space-between" align="flex-end" mb="sm">
        <div>
          <Title order={2} size="h3" id="revenue-heading">
            Revenue by month
          </Title>
          <Text size="sm" c="gray.7">
            {report
              ? `${formatDate(report.from)} to ${formatDate(report.to)}: invoiced less credit notes, received less refunds.`
              : "Invoiced less credit notes, received less refunds."}
          </Text>
        </div>
        <Group align="flex-end">
          <DateField label="From" value={search.from ?? report?.from ?? ""} onChange={(from) => setSearch({ from })} />
          <DateField label="To" value={search.to ?? report?.to ?? ""} onChange={(to) => setSearch({ to })} />
          <Button variant="default" onClick={download} disabled={!report || report.items.length === 0}>
            Download revenue CSV
          </Button>
        </Group>
      </Group>
      <ProblemAlert error={revenue.error} />
      {revenue.isPending && <Loader aria-label="Loading the revenue report" />}
      {report && report.items.length === 0 && (
        <EmptyState title="No revenue in these months">
          Nothing was invoiced or received between these dates. Choose other dates, or issue invoices from the
          Invoices page.
        </EmptyState>
      )}
      {report && report.items.length > 0 && (
        <Stack>
          {currencies.length > 1 && (
            <Select
              label="Chart currency"
              data={currencies}
              value={currency}
              onChange={setChosenCurrency}
              allowDeselect={false}
              w={160}
            />
          )}
          <RevenueChart
            rows={report.items.filter((row) => row.currency === currency)}
            currency={currency}
            months={monthsBetween(report.from, report.to)}
          />
          <RevenueTable rows={report.items} />
        </Stack>
      )}
    </Paper>
  );
}

function revenueCsv(rows: RevenueRow[]): string {
  return toCsv([
    ["Month", "Currency", ...REVENUE_COLUMNS.map((column) => column.label)],
    ...rows.map((row) => [
      row.month,
      row.currency,
      ...REVENUE_COLUMNS.map((column) => minorToInput(row[column.key], row.currency)),
    ]),
  ]);
}

function RevenueChart({ rows, currency, months }: { rows: RevenueRow[]; currency: string; months: string[] }) {
  // The report leaves out months without money; the chart shows them as zero.
  const byMonth = new Map(rows.map((row) => [row.month, row]));
  const chartData = months.map((month) => {
    const row = byMonth.get(month);
    return {
      month,
      "Net invoiced": row ? toMajor(row.net_invoiced, currency) : 0,
      "Net received": row ? toMajor(row.net_received, currency) : 0,
    };
  });
  return (
    <figure style={{ margin: 0 }} aria-label={`Chart of net invoiced and net received per month in ${currency}`}>
      <AreaChart
        h={260}
        data={chartData}
        dataKey="month"
        series={[
          { name: "Net invoiced", color: "indigo.6" },
          { name: "Net received", color: "teal.6" },
        ]}
        withLegend
        curveType="linear"
        valueFormatter={(value) => formatMajor(value, currency)}
      />
    </figure>
  );
}

function RevenueTable({ rows }: { rows: RevenueRow[] }) {
  return (
    <Table.ScrollContainer minWidth={720}>
      <Table striped aria-label="Revenue by month">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Month</Table.Th>
            <Table.Th>Currency</Table.Th>
            {REVENUE_COLUMNS.map((column) => (
              <Table.Th key={column.key} ta="right">
                {column.label}
              </Table.Th>
            ))}
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {rows.map((row) => (
            <Table.Tr key={`${row.month}-${row.currency}`}>
              <Table.Td>{row.month}</Table.Td>
              <Table.Td>{row.currency}</Table.Td>
              {REVENUE_COLUMNS.map((column) => (
                <Table.Td key={column.key} ta="right">
                  {formatMinor(row[column.key], row.currency)}
                </Table.Td>
              ))}
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}
