import { Anchor, Button, Group, Select, Skeleton, Table, Text } from "@mantine/core";
import { IconPlus } from "@tabler/icons-react";
import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { Link, useNavigate } from "@tanstack/react-router";

import { api, data } from "@/api/client";
import { EmptyState } from "@/components/EmptyState";
import { allItems, LoadMore } from "@/components/LoadMore";
import { PageHeader } from "@/components/PageHeader";
import { ProblemAlert } from "@/components/ProblemAlert";
import { formatDate } from "@/lib/format";
import { ClientPicker } from "@/components/ClientPicker";
import { InvoiceLink } from "./InvoiceLink";
import { formatMinor } from "@/lib/money";
import { clientQuery, STATUS_LABELS, type InvoiceStatus, type InvoiceSummary } from "./queries";
import { invoicesRoute, type InvoicesSearch } from "./routes";
import { StatusBadge } from "./StatusBadge";

const PAGE_SIZE = 25;

/** The client an invoice bills: as the invoice printed it, or (drafts) the client's name now. */
function ClientName({ invoice }: { invoice: InvoiceSummary }) {
  const client = useQuery({ ...clientQuery(invoice.client_id), enabled: invoice.bill_to === null });
  if (invoice.bill_to) return <>{invoice.bill_to.name}</>;
  return <>{client.data?.name ?? "…"}</>;
}

function InvoiceRow({ invoice }: { invoice: InvoiceSummary }) {
  const label = invoice.number ?? "Draft";
  return (
    <Table.Tr>
      <Table.Td>
        <InvoiceLink invoiceId={invoice.id}>{label}</InvoiceLink>
      </Table.Td>
      <Table.Td>
        <ClientName invoice={invoice} />
      </Table.Td>
      <Table.Td>
        <StatusBadge invoice={invoice} />
      </Table.Td>
      <Table.Td>{formatDate(invoice.issue_date)}</Table.Td>
      <Table.Td>{formatDate(invoice.due_date)}</Table.Td>
      <Table.Td ta="right">{formatMinor(invoice.total, invoice.currency)}</Table.Td>
      <Table.Td ta="right">{formatMinor(invoice.balance, invoice.currency)}</Table.Td>
    </Table.Tr>
  );
}

function Filters({ search }: { search: InvoicesSearch }) {
  const navigate = useNavigate({ from: invoicesRoute.fullPath });
  const change = (next: InvoicesSearch) => navigate({ search: next, replace: true });
  return (
    <Group align="flex-end" mb="md" wrap="wrap">
      <Select
        label="Status"
        w={200}
        data={[
          { value: "", label: "Any status" },
          ...Object.entries(STATUS_LABELS).map(([value, label]) => ({ value, label })),
        ]}
        allowDeselect={false}
        value={search.status ?? ""}
        onChange={(status) =>
          change({ ...search, status: status ? (status as InvoiceStatus) : undefined })
        }
      />
      <Select
        label="Kind"
        w={180}
        data={[
          { value: "invoice", label: "Invoices" },
          { value: "credit_note", label: "Credit notes" },
        ]}
        allowDeselect={false}
        value={search.kind ?? "invoice"}
        onChange={(kind) =>
          change({ ...search, kind: kind === "credit_note" ? "credit_note" : undefined })
        }
      />
      <ClientPicker
        label="Client"
        placeholder="Any client"
        clearable
        value={search.client ?? null}
        onChange={(client) => change({ ...search, client: client ?? undefined })}
      />
    </Group>
  );
}

/** Every invoice of the firm, newest first, filtered by status, kind and client. */
export function InvoicesPage() {
  const search = invoicesRoute.useSearch();
  const invoices = useInfiniteQuery({
    queryKey: ["invoices", "list", search],
    queryFn: async ({ pageParam }) =>
      data(
        await api.GET("/v1/invoices", {
          params: {
            query: {
              status: search.status,
              client_id: search.client,
              kind: search.kind ?? "invoice",
              limit: PAGE_SIZE,
              cursor: pageParam,
            },
          },
        }),
      ),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (page) => page.next_cursor ?? undefined,
  });
  const items = allItems(invoices.data?.pages);
  const filtered = Boolean(search.status || search.client || search.kind);

  return (
    <>
      <PageHeader
        title="Invoices"
        description="Drafts, issued invoices and credit notes; amounts in each invoice's currency."
        actions={
          <Button component={Link} to="/invoices/new" leftSection={<IconPlus size={16} />}>
            New invoice
          </Button>
        }
      />
      <Filters search={search} />
      <ProblemAlert error={invoices.error} />
      {invoices.isPending ? (
        <Skeleton h={200} />
      ) : items.length === 0 ? (
        <EmptyState title={filtered ? "No invoice matches these filters" : "No invoices yet"}>
          {filtered ? (
            <Text size="sm">Change or clear the filters above to see more.</Text>
          ) : (
            <Text size="sm">
              Create one with{" "}
              <Anchor component={Link} to="/invoices/new" underline="always">
                New invoice
              </Anchor>: pick a
              client, add lines, then finalize and send it.
            </Text>
          )}
        </EmptyState>
      ) : (
        <Table.ScrollContainer minWidth={760}>
          <Table striped highlightOnHover>
            <Table.Caption>
              {items.length} {search.kind === "credit_note" ? "credit note" : "invoice"}
              {items.length === 1 ? "" : "s"} shown, newest first
            </Table.Caption>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Number</Table.Th>
                <Table.Th>Client</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th>Issued</Table.Th>
                <Table.Th>Due</Table.Th>
                <Table.Th ta="right">Total</Table.Th>
                <Table.Th ta="right">Balance</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {items.map((invoice) => (
                <InvoiceRow key={invoice.id} invoice={invoice} />
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      <LoadMore
        hasNextPage={invoices.hasNextPage}
        isFetchingNextPage={invoices.isFetchingNextPage}
        fetchNextPage={invoices.fetchNextPage}
      />
    </>
  );
}
