import { List, Text } from "@mantine/core";
import { useQueries, useQuery } from "@tanstack/react-query";
import { useState } from "react";

import { dayAgo, failedRunsQuery } from "./dashboardQueries";
import { Panel, PanelSkeleton } from "./Panel";
import { api, data } from "@/api/client";
import { useMe } from "@/app/session";
import { EmptyState } from "@/components/EmptyState";
import { ProblemAlert } from "@/components/ProblemAlert";
import { formatDateTime } from "@/lib/format";

/** What a failed run's error says, in one line. */
function failure(error: Record<string, unknown> | null): string {
  const message = error?.message;
  return typeof message === "string" && message ? message : "The run failed.";
}

export function FailedRunsPanel() {
  const { firm } = useMe();
  // Fixed when the dashboard opens, so the query's key stays the same while it is shown.
  const [since] = useState(() => dayAgo());
  const runs = useQuery(failedRunsQuery(since));
  const items = runs.data?.items ?? [];
  const automationIds = [...new Set(items.map((run) => run.automation_id))];
  const automations = useQueries({
    queries: automationIds.map((id) => ({
      queryKey: ["automations", id],
      queryFn: async () =>
        data(await api.GET("/v1/automations/{automation_id}", { params: { path: { automation_id: id } } })),
      staleTime: 5 * 60_000,
      retry: false,
    })),
  });
  const nameOf = (id: string) =>
    automations[automationIds.indexOf(id)]?.data?.name ?? "An automation";

  return (
    <Panel title="Failed runs, last 24 hours">
      {runs.isPending ? (
        <PanelSkeleton />
      ) : runs.isError ? (
        <ProblemAlert error={runs.error} />
      ) : items.length === 0 ? (
        <EmptyState title="No run failed in the last 24 hours">
          When an automation run fails, it shows here with the reason.
        </EmptyState>
      ) : (
        <List spacing="xs" listStyleType="none" aria-label="Failed runs">
          {items.map((run) => (
            <List.Item key={run.id}>
              <Text size="sm" fw={500}>
                {nameOf(run.automation_id)}
              </Text>
              <Text size="xs" c="gray.7">
                Started {formatDateTime(run.started_at, firm.time_zone)} · {failure(run.error)}
              </Text>
            </List.Item>
          ))}
        </List>
      )}
    </Panel>
  );
}
