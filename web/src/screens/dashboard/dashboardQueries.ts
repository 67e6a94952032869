import { queryOptions, type QueryClient } from "@tanstack/react-query";

import type { AgingTotals, RevenueRow } from "./reportSeries";
import { api, data } from "@/api/client";
import { waitingOnMeQuery } from "@/screens/approvals/approvalQueries";
import { tasksQuery } from "@/screens/tasks/tasksQueries";

/** How many rows a list panel shows. */
export const SHOWN = 5;
const DAY_MS = 24 * 60 * 60 * 1000;
const MINUTE_MS = 60 * 1000;

/** The report endpoints also answer CSV; the dashboard asks for JSON. */
function json<T>(body: unknown): T {
  return body as T;
}

// The firm's totals only: the rows per client group every client that owes anything.
export const agingTotalsQuery = queryOptions({
  queryKey: ["reports", "aging", "totals"],
  queryFn: async () =>
    json<{ totals: AgingTotals[] }>(
      data(
        await api.GET("/v1/reports/receivables-aging", {
          params: { query: { totals_only: true, format: "json" } },
        }),
      ),
    ),
});

export const revenueQuery = queryOptions({
  queryKey: ["reports", "revenue", "twelve-months"],
  queryFn: async () =>
    json<{ from: string; to: string; items: RevenueRow[] }>(
      data(await api.GET("/v1/reports/revenue", { params: { query: { format: "json" } } })),
    ),
});

export const collectionsQuery = queryOptions({
  queryKey: ["invoices", "in-collections", SHOWN],
  queryFn: async () =>
    data(await api.GET("/v1/invoices", { params: { query: { in_collections: true, limit: SHOWN } } })),
});

/** A day back from now, to the minute: the route's prefetch and the panel ask alike. */
export function dayAgo(now = Date.now()): string {
  return new Date(Math.floor((now - DAY_MS) / MINUTE_MS) * MINUTE_MS).toISOString();
}

export function failedRunsQuery(since: string) {
  return queryOptions({
    queryKey: ["automation-runs", "failed", since],
    queryFn: async () =>
      data(
        await api.GET("/v1/automation-runs", {
          params: { query: { status: "failed", started_after: since, limit: SHOWN } },
        }),
      ),
  });
}

export const myOpenTasksQuery = tasksQuery({ assignee: "me", status: "open" }, SHOWN);
export const myApprovalsQuery = waitingOnMeQuery(SHOWN);

/**
 * Starts every panel's request while the dashboard's code is still downloading; nothing
 * waits for them, so the heading and the skeletons paint first.
 */
export function prefetchDashboard(queryClient: QueryClient): void {
  void queryClient.prefetchInfiniteQuery(myOpenTasksQuery);
  void queryClient.prefetchQuery(myApprovalsQuery);
  void queryClient.prefetchQuery(agingTotalsQuery);
  void queryClient.prefetchQuery(revenueQuery);
  void queryClient.prefetchQuery(collectionsQuery);
  void queryClient.prefetchQuery(failedRunsQuery(dayAgo()));
}
