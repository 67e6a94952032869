import { Anchor, Button, Code, Group, Paper, Select, SimpleGrid, Stack, Table, Text, TextInput, Title } from "@mantine/core";
import { useForm } from "@mantine/form";
import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { Link, useNavigate } from "@tanstack/react-router";

import { api, data } from "@/api/client";
import { ApiProblem, fieldErrors, unplacedErrors } from "@/api/problem";
import type { components } from "@/api/schema";
import { useMe } from "@/app/session";
import { EmptyState } from "@/components/EmptyState";
import { allItems, LoadMore } from "@/components/LoadMore";
import { PageHeader } from "@/components/PageHeader";
import { ProblemAlert } from "@/components/ProblemAlert";
import { formatDateTime } from "@/lib/format";
import { auditChanges } from "./auditChanges";
import { auditQuery } from "./auditQuery";
import { AUDIT_FILTERS, type AuditSearch } from "./auditSearch";
import { auditLogRoute } from "./routes";

type AuditEvent = components["schemas"]["AuditEventRead"];
type User = components["schemas"]["UserRead"];

export function AuditLogPage() {
  const me = useMe();
  const search = auditLogRoute.useSearch();
  const query = auditQuery(search, me.firm.time_zone);
  const events = useInfiniteQuery({
    queryKey: ["audit-events", query],
    queryFn: async ({ pageParam }) =>
      data(await api.GET("/v1/audit-events", { params: { query: { ...query, limit: 50, cursor: pageParam } } })),
    initialPageParam: null as string | null,
    getNextPageParam: (page) => page.next_cursor ?? null,
  });
  // The first hundred users name the actors; a user beyond them shows by id.
  const users = useQuery({
    queryKey: ["users", "for-audit"],
    queryFn: async () => data(await api.GET("/v1/users", { params: { query: { limit: 100 } } })).items,
  });
  const items = allItems(events.data?.pages);
  const filtered = Object.keys(search).length > 0;

  return (
    <Stack>
      <PageHeader
        title="Audit log"
        description={`Who changed what, newest first. Times are in your firm's time zone (${me.firm.time_zone}).`}
      />
      <AuditFilters key={JSON.stringify(search)} search={search} users={users.data ?? []} error={events.error} />
      <Paper withBorder p="md" radius="md" component="section" aria-labelledby="events">
        <Title order={2} size="h4" id="events" mb="sm">
          Events
        </Title>
        <ProblemAlert
          error={events.error}
          unplaced={events.error instanceof ApiProblem ? unplacedErrors(events.error.problem, FILTER_PARAMETERS) : []}
        />
        {events.isSuccess && items.length === 0 ? (
          <EmptyState title={filtered ? "No event matches these filters" : "Nothing recorded yet"}>
            {filtered ? "Widen the time range or clear a filter." : "Changes your firm makes are listed here."}
          </EmptyState>
        ) : (
          <EventsTable events={items} users={users.data ?? []} />
        )}
        <LoadMore {...events} />
      </Paper>
    </Stack>
  );
}

type FilterValues = Record<(typeof AUDIT_FILTERS)[number], string>;

/** The query parameters whose errors the filter form shows on its fields. */
const FILTER_PARAMETERS = ["actor_id", "record_type", "record_id", "action", "from", "to"];

/** The API names a bad filter by its query parameter; the form calls the actor "actor". */
function filterErrors(error: unknown): Partial<FilterValues> {
  if (!(error instanceof ApiProblem)) return {};
  const { actor_id: actor, ...rest } = fieldErrors(error.problem);
  return { ...rest, ...(actor ? { actor } : {}) };
}

function AuditFilters({ search, users, error }: { search: AuditSearch; users: User[]; error: unknown }) {
  const me = useMe();
  const navigate = useNavigate({ from: auditLogRoute.fullPath });
  const form = useForm<FilterValues>({
    initialValues: Object.fromEntries(AUDIT_FILTERS.map((key) => [key, search[key] ?? ""])) as FilterValues,
  });
  const errors = { ...filterErrors(error), ...form.errors };
  const apply = form.onSubmit(async (values) => {
    const next = Object.fromEntries(Object.entries(values).filter(([, value]) => value.trim() !== ""));
    await navigate({ search: next });
  });
  const clear = async () => {
    await navigate({ search: {} });
  };
  const actors = users.map((user) => ({ value: user.id, label: user.name ? `${user.name} (${user.email})` : user.email }));
  if (search.actor && !actors.some((actor) => actor.value === search.actor)) {
    actors.push({ value: search.actor, label: search.actor });
  }

  return (
    <Paper withBorder p="md" radius="md" component="section" aria-labelledby="filters">
      <Title order={2} size="h4" id="filters" mb="sm">
        Filters
      </Title>
      <form onSubmit={apply} noValidate>
        <SimpleGrid cols={{ base: 1, sm: 2, lg: 3 }}>
          <Select
            label="Actor"
            placeholder="Anyone"
            searchable
            clearable
            data={actors}
            {...form.getInputProps("actor")}
            error={errors.actor}
          />
          <TextInput
            label="Action"
            placeholder="user.role_changed"
            {...form.getInputProps("action")}
            error={errors.action}
          />
          <TextInput
            label="Record type"
            placeholder="client, invoice, user…"
            {...form.getInputProps("record_type")}
            error={errors.record_type}
          />
          <TextInput
            label="Record ID"
            description="Needs a record type"
            {...form.getInputProps("record_id")}
            error={errors.record_id}
          />
          <TextInput
            label={`From (${me.firm.time_zone})`}
            type="datetime-local"
            {...form.getInputProps("from")}
            error={errors.from}
          />
          <TextInput
            label={`Until (${me.firm.time_zone})`}
            type="datetime-local"
            {...form.getInputProps("to")}
            error={errors.to}
          />
        </SimpleGrid>
        <Group mt="md">
          <Button type="submit">Apply filters</Button>
          <Button variant="default" onClick={clear}>
            Clear filters
          </Button>
        </Group>
      </form>
    </Paper>
  );
}

function EventsTable({ events, users }: { events: AuditEvent[]; users: User[] }) {
  const me = useMe();
  const names = new Map(users.map((user) => [user.id, user.name || user.email]));
  const actorName = (event: AuditEvent) => {
    if (event.actor_id === null) return "System";
    return names.get(event.actor_id) ?? event.actor_id;
  };
  return (
    <Table.ScrollContainer minWidth={880}>
      <Table striped aria-label="Audit events" verticalSpacing="sm">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>When</Table.Th>
            <Table.Th>Actor</Table.Th>
            <Table.Th>Action</Table.Th>
            <Table.Th>Record</Table.Th>
            <Table.Th>Changes</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {events.map((event) => (
            <Table.Tr key={event.id}>
              <Table.Td style={{ whiteSpace: "nowrap" }}>{formatDateTime(event.created_at, me.firm.time_zone)}</Table.Td>
              <Table.Td>{actorName(event)}</Table.Td>
              <Table.Td>
                <Code>{event.action}</Code>
              </Table.Td>
              <Table.Td>
                <Text size="sm">{event.record_type}</Text>
                {event.record_id && (
                  <Anchor
                    size="xs"
                    ff="monospace"
                    renderRoot={(props) => (
                      <Link
                        {...props}
                        from={auditLogRoute.fullPath}
                        search={{ record_type: event.record_type, record_id: event.record_id ?? undefined }}
                        aria-label={`History of ${event.record_type} ${event.record_id}`}
                      />
                    )}
                  >
                    {event.record_id}
                  </Anchor>
                )}
              </Table.Td>
              <Table.Td>
                <Changes summary={event.summary} />
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

function Changes({ summary }: { summary: Record<string, unknown> }) {
  const changes = auditChanges(summary);
  if (changes.length === 0) return <Text size="sm">—</Text>;
  return (
    <Stack gap={2}>
      {changes.map((change) => (
        <Text size="sm" key={change.field}>
          <Text span fw={500}>
            {change.field}:
          </Text>{" "}
          {change.before === null ? (
            change.after
          ) : (
            <>
              <Text span td="line-through" c="gray.7">
                {change.before}
              </Text>{" "}
              → {change.after ?? "(removed)"}
            </>
          )}
        </Text>
      ))}
    </Stack>
  );
}
