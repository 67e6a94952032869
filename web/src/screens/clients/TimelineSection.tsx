import { Anchor, Badge, List, Stack, Table, Text, Timeline, Title } from "@mantine/core";
import { useInfiniteQuery, useQueries, useQuery } from "@tanstack/react-query";
import { Link } from "@tanstack/react-router";

import { keys, type Client } from "./queries";
import { actorOf, automationRunIds, changesOf, fieldLabel, titleOf, type Actor, type AuditEvent } from "./timeline";
import { api, data } from "@/api/client";
import { useMe } from "@/app/session";
import { EmptyState } from "@/components/EmptyState";
import { LoadMore, allItems } from "@/components/LoadMore";
import { ProblemAlert } from "@/components/ProblemAlert";
import { formatDateTime } from "@/lib/format";

/** The client's audit events, newest first: the timeline and the runs that changed it. */
function useClientEvents(clientId: string) {
  return useInfiniteQuery({
    queryKey: [...keys.client(clientId), "timeline"],
    queryFn: async ({ pageParam }) =>
      data(
        await api.GET("/v1/audit-events", {
          params: { query: { record_type: "client", record_id: clientId, cursor: pageParam } },
        }),
      ),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
}

export function TimelineSection({ client }: { client: Client }) {
  const events = useClientEvents(client.id);
  const items = allItems(events.data?.pages);
  return (
    <section aria-labelledby="client-timeline">
      <Title order={2} size="h4" id="client-timeline" mb="xs">
        Timeline
      </Title>
      <Text size="sm" c="gray.7" mb="md">
        Every change to this client, newest first: who made it, when, and what changed.
      </Text>
      <ProblemAlert error={events.error} />
      {events.isSuccess && items.length === 0 ? (
        <EmptyState title="Nothing recorded yet">Changes to this client will be listed here as they happen.</EmptyState>
      ) : (
        <Timeline bulletSize={14} lineWidth={2}>
          {items.map((event) => (
            <Timeline.Item key={event.id} title={titleOf(event.action)}>
              <TimelineEntry event={event} />
            </Timeline.Item>
          ))}
        </Timeline>
      )}
      <LoadMore {...events} />
    </section>
  );
}

function TimelineEntry({ event }: { event: AuditEvent }) {
  const { firm } = useMe();
  const changes = changesOf(event);
  const moment = (field: string, value: string | null) =>
    value !== null && field === "archived_at" ? formatDateTime(value, firm.time_zone) : value;
  return (
    <Stack gap={2}>
      <Text size="sm" c="gray.7">
        <ActorName actor={actorOf(event)} /> · <time dateTime={event.created_at}>{formatDateTime(event.created_at, firm.time_zone)}</time>
      </Text>
      {event.action !== "client.archived" && event.action !== "client.unarchived" && changes.length > 0 && (
        <List size="sm" spacing={0}>
          {changes.map((change) => (
            <List.Item key={change.field}>
              {fieldLabel(change.field)}:{" "}
              {change.before === null ? "" : <s>{moment(change.field, change.before)}</s>}
              {change.before === null ? "" : " → "}
              {moment(change.field, change.after) ?? "(cleared)"}
            </List.Item>
          ))}
        </List>
      )}
    </Stack>
  );
}

function ActorName({ actor }: { actor: Actor }) {
  switch (actor.kind) {
    case "user":
      return <UserName userId={actor.userId} />;
    case "automation":
      return <>Automation run {actor.runId.slice(0, 8)}</>;
    case "import":
      return (
        <Anchor component={Link} to={`/imports/${actor.importId}`} size="sm" underline="always">
          A client import
        </Anchor>
      );
    case "system":
      return <>firmflow</>;
  }
}

/** A member's name; their id stays unreadable, so a member without users:read sees "a member". */
function UserName({ userId }: { userId: string }) {
  const user = useQuery({
    queryKey: ["users", "one", userId],
    queryFn: async () => data(await api.GET("/v1/users/{user_id}", { params: { path: { user_id: userId } } })),
    staleTime: 5 * 60_000,
  });
  if (!user.data) return <>a member</>;
  return <>{user.data.name || user.data.email}</>;
}

const RUN_COLORS: Record<string, string> = {
  succeeded: "green",
  failed: "red",
  running: "blue",
  queued: "gray",
  canceled: "dark",
  skipped: "gray",
};

/**
 * Runs that touched the client. The runs API has no client filter; a run's steps record
 * their changes in the audit trail under the run's id, so the client's events name them.
 */
export function AutomationRunsSection({ client }: { client: Client }) {
  const { firm } = useMe();
  const events = useClientEvents(client.id);
  const runIds = automationRunIds(allItems(events.data?.pages));
  const runs = useQueries({
    queries: runIds.map((runId) => ({
      queryKey: ["automation-runs", "one", runId],
      queryFn: async () =>
        data(await api.GET("/v1/automation-runs/{run_id}", { params: { path: { run_id: runId } } })),
    })),
  });

  return (
    <section aria-labelledby="client-runs">
      <Title order={2} size="h4" id="client-runs" mb="xs">
        Automation runs that changed this client
      </Title>
      <ProblemAlert error={events.error} />
      {events.isSuccess && runIds.length === 0 ? (
        <EmptyState title="No automation has changed this client">
          When an automation&apos;s step updates this client, its run is listed here.
        </EmptyState>
      ) : (
        <Table.ScrollContainer minWidth={640}>
          <Table aria-label="Automation runs that changed this client" striped>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Run</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th>Started by</Table.Th>
                <Table.Th>Started</Table.Th>
                <Table.Th>Finished</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {runIds.map((runId, index) => {
                const run = runs[index]?.data;
                return (
                  <Table.Tr key={runId}>
                    <Table.Td>{runId.slice(0, 8)}</Table.Td>
                    <Table.Td>
                      {run ? (
                        <Badge variant="light" color={RUN_COLORS[run.status] ?? "gray"}>
                          {run.status}
                        </Badge>
                      ) : (
                        "—"
                      )}
                    </Table.Td>
                    <Table.Td>{run?.trigger ?? "—"}</Table.Td>
                    <Table.Td>{formatDateTime(run?.started_at, firm.time_zone)}</Table.Td>
                    <Table.Td>{formatDateTime(run?.finished_at, firm.time_zone)}</Table.Td>
                  </Table.Tr>
                );
              })}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      <LoadMore {...events} />
    </section>
  );
}
