import { Anchor, Table } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import { Link } from "@tanstack/react-router";

import { collectionsQuery } from "./dashboardQueries";
import { formatMinor } from "@/lib/money";
import { Panel, PanelSkeleton } from "./Panel";
import { EmptyState } from "@/components/EmptyState";
import { ProblemAlert } from "@/components/ProblemAlert";
import { formatDate } from "@/lib/format";

export function CollectionsPanel() {
  const invoices = useQuery(collectionsQuery);
  const items = invoices.data?.items ?? [];
  return (
    <Panel title="Invoices in collections" to="/invoices" linkLabel="All invoices">
      {invoices.isPending ? (
        <PanelSkeleton />
      ) : invoices.isError ? (
        <ProblemAlert error={invoices.error} />
      ) : items.length === 0 ? (
        <EmptyState title="No invoice is in collections">
          Invoices the dunning policy escalates after its reminders show here until they are paid.
        </EmptyState>
      ) : (
        <Table aria-label="Invoices in collections" verticalSpacing="xs">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Invoice</Table.Th>
              <Table.Th>Client</Table.Th>
              <Table.Th>Due</Table.Th>
              <Table.Th ta="right">Owed</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {items.map((invoice) => (
              <Table.Tr key={invoice.id}>
                <Table.Td>
                  <Anchor component={Link} to={`/invoices/${invoice.id}`} size="sm">
                    {invoice.number ?? "Invoice"}
                  </Anchor>
                </Table.Td>
                <Table.Td>{invoice.bill_to?.name ?? "—"}</Table.Td>
                <Table.Td>{formatDate(invoice.due_date)}</Table.Td>
                <Table.Td ta="right">{formatMinor(invoice.balance, invoice.currency)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Panel>
  );
}
