import { Anchor, Button, Group, Paper, Select, Switch, Table, TagsInput, Text, TextInput } from "@mantine/core";
import { useDebouncedCallback } from "@mantine/hooks";
import { keepPreviousData, useInfiniteQuery } from "@tanstack/react-query";
import { getRouteApi, Link } from "@tanstack/react-router";
import { useState } from "react";

import { ClientStatusBadge } from "./ClientStatusBadge";
import { keys, type Client } from "./queries";
import { CLIENT_STATUSES, capitalized, clientsListParams, hasFilters, type ClientsSearch } from "./search";
import { api, data } from "@/api/client";
import { useMe } from "@/app/session";
import { EmptyState } from "@/components/EmptyState";
import { LoadMore, allItems } from "@/components/LoadMore";
import { PageHeader } from "@/components/PageHeader";
import { ProblemAlert } from "@/components/ProblemAlert";
import { formatDateTime } from "@/lib/format";

const route = getRouteApi("/app/clients");

export function ClientsPage() {
  const search = route.useSearch();
  const navigate = route.useNavigate();
  const [resets, setResets] = useState(0);
  const filter = (change: Partial<ClientsSearch>) =>
    void navigate({ search: (previous) => ({ ...previous, ...change }), replace: true });

  const clients = useInfiniteQuery({
    queryKey: [...keys.clients, "list", search],
    queryFn: async ({ pageParam }) =>
      data(await api.GET("/v1/clients", { params: { query: clientsListParams(search, pageParam) } })),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    placeholderData: keepPreviousData,
  });

  return (
    <>
      <PageHeader
        title="Clients"
        description="The people and organizations your firm works for."
        actions={
          <>
            <Button variant="default" component={Link} to="/imports">
              Import a CSV
            </Button>
            <Button component={Link} to="/clients/new">
              New client
            </Button>
          </>
        }
      />
      {/* A new key after "clear the filters" empties the search box with the address. */}
      <Filters key={resets} search={search} onChange={filter} />
      <ProblemAlert error={clients.error} />
      <ClientsTable
        search={search}
        clients={allItems(clients.data?.pages)}
        loaded={clients.isSuccess}
        onClear={() => {
          setResets((count) => count + 1);
          void navigate({ search: {}, replace: true });
        }}
      />
      <LoadMore {...clients} />
    </>
  );
}

function Filters({ search, onChange }: { search: ClientsSearch; onChange: (change: Partial<ClientsSearch>) => void }) {
  const [text, setText] = useState(search.q ?? "");
  // The address follows the typing a moment later, so each key press is not a request.
  const searchFor = useDebouncedCallback((value: string) => onChange({ q: value.trim() || undefined }), 300);

  return (
    <Paper withBorder p="sm" mb="md">
      <Group align="flex-end" wrap="wrap">
        <TextInput
          label="Search"
          placeholder="Part of a name or email"
          value={text}
          onChange={(event) => {
            setText(event.currentTarget.value);
            searchFor(event.currentTarget.value);
          }}
          w={260}
        />
        <Select
          label="Status"
          placeholder="Any status"
          data={CLIENT_STATUSES.map((status) => ({ value: status, label: capitalized(status) }))}
          value={search.status ?? null}
          onChange={(value) => onChange({ status: CLIENT_STATUSES.find((status) => status === value) })}
          clearable
          w={180}
        />
        <TagsInput
          label="Tags"
          description="Clients with every tag"
          value={search.tag ?? []}
          onChange={(tags) => onChange({ tag: tags.length ? tags : undefined })}
          maxTags={10}
          w={260}
        />
        <Switch
          label="Archived clients only"
          checked={search.archived ?? false}
          onChange={(event) => onChange({ archived: event.currentTarget.checked || undefined })}
          mb={8}
        />
      </Group>
    </Paper>
  );
}

interface TableProps {
  search: ClientsSearch;
  clients: Client[];
  loaded: boolean;
  onClear: () => void;
}

function ClientsTable({ search, clients, loaded, onClear }: TableProps) {
  const { firm } = useMe();
  if (loaded && clients.length === 0) {
    return hasFilters(search) ? (
      <EmptyState title="No client matches these filters">
        Try other words or fewer tags, or{" "}
        <Anchor component="button" type="button" onClick={onClear} underline="always">
          clear the filters
        </Anchor>
        .
      </EmptyState>
    ) : (
      <EmptyState title="No clients yet">
        Create one with{" "}
        <Anchor component={Link} to="/clients/new" underline="always">
          New client
        </Anchor>
        , or bring many at once:{" "}
        <Anchor component={Link} to="/imports" underline="always">
          import a CSV
        </Anchor>
        .
      </EmptyState>
    );
  }
  return (
    <Table.ScrollContainer minWidth={720}>
      <Table striped highlightOnHover aria-label="Clients">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Name</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th>Email</Table.Th>
            <Table.Th>Tags</Table.Th>
            <Table.Th>Created</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {clients.map((client) => (
            <Table.Tr key={client.id}>
              <Table.Td>
                <Anchor component={Link} to={`/clients/${client.id}`} fw={500}>
                  {client.name}
                </Anchor>
                <Text size="xs" c="gray.7">
                  {client.kind === "person" ? "Person" : "Organization"}
                </Text>
              </Table.Td>
              <Table.Td>
                <ClientStatusBadge client={client} />
              </Table.Td>
              <Table.Td>{client.email ?? "—"}</Table.Td>
              <Table.Td>{client.tags.join(", ") || "—"}</Table.Td>
              <Table.Td>{formatDateTime(client.created_at, firm.time_zone)}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}
