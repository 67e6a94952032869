import { Anchor, Button, Loader, Paper, Stack, Table } from "@mantine/core";
import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { Link } from "@tanstack/react-router";

import { api, data } from "@/api/client";
import type { components } from "@/api/schema";
import { EmptyState } from "@/components/EmptyState";
import { allItems, LoadMore } from "@/components/LoadMore";
import { PageHeader } from "@/components/PageHeader";
import { ProblemAlert } from "@/components/ProblemAlert";
import { formatDate } from "@/lib/format";
import { RecurringStatusBadge } from "./RecurringStatusBadge";
import { describeRule, parseRrule, RuleParseError } from "./rrule";

type Recurring = components["schemas"]["RecurringInvoiceRead"];

export function RecurringInvoicesPage() {
  const recurring = useInfiniteQuery({
    queryKey: ["recurring-invoices", "list"],
    queryFn: async ({ pageParam }) =>
      data(await api.GET("/v1/recurring-invoices", { params: { query: { limit: 50, cursor: pageParam } } })),
    initialPageParam: null as string | null,
    getNextPageParam: (page) => page.next_cursor ?? null,
  });
  const items = allItems(recurring.data?.pages);
  return (
    <Stack>
      <PageHeader
        title="Recurring invoices"
        description="Invoices made on a schedule from a template: retainers, subscriptions, monthly fees."
        actions={
          <Button component={Link} to="/recurring-invoices/new">
            New recurring invoice
          </Button>
        }
      />
      <ProblemAlert error={recurring.error} />
      {recurring.isPending && <Loader aria-label="Loading recurring invoices" />}
      {recurring.isSuccess && items.length === 0 && (
        <EmptyState title="No recurring invoices yet">
          Create one with “New recurring invoice”: choose the client and the lines, then when it repeats.
        </EmptyState>
      )}
      {items.length > 0 && (
        <Paper withBorder radius="md" p="xs">
          <Table.ScrollContainer minWidth={640}>
            <Table striped highlightOnHover aria-label="Recurring invoices">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Client</Table.Th>
                  <Table.Th>Repeats</Table.Th>
                  <Table.Th>Currency</Table.Th>
                  <Table.Th>Status</Table.Th>
                  <Table.Th>Last invoiced for</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {items.map((row) => (
                  <RecurringRow key={row.id} recurring={row} />
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        </Paper>
      )}
      <LoadMore {...recurring} />
    </Stack>
  );
}

function ruleInWords(recurring: Recurring): string {
  try {
    return describeRule(parseRrule(recurring.rrule, recurring));
  } catch (error) {
    if (error instanceof RuleParseError) return recurring.rrule;
    throw error;
  }
}

function RecurringRow({ recurring }: { recurring: Recurring }) {
  const client = useQuery({
    queryKey: ["clients", recurring.client_id],
    queryFn: async () =>
      data(await api.GET("/v1/clients/{client_id}", { params: { path: { client_id: recurring.client_id } } })),
    staleTime: 60_000,
  });
  return (
    <Table.Tr>
      <Table.Td>
        <Anchor component={Link} to={`/recurring-invoices/${recurring.id}`}>
          {client.data?.name ?? "Client"}
        </Anchor>
      </Table.Td>
      <Table.Td>{ruleInWords(recurring)}</Table.Td>
      <Table.Td>{recurring.currency}</Table.Td>
      <Table.Td>
        <RecurringStatusBadge status={recurring.status} />
      </Table.Td>
      <Table.Td>{formatDate(recurring.last_occurrence_date)}</Table.Td>
    </Table.Tr>
  );
}
