import { Badge, Group, Paper, Stack, Table, Text, Title } from "@mantine/core";
import { useInfiniteQuery, useQuery } from "@tanstack/react-query";

import { AnchorLink } from "@/components/AnchorLink";
import { formatMinor } from "@/lib/money";
import { keys, type Client } from "./queries";
import { api, data } from "@/api/client";
import type { components } from "@/api/schema";
import { EmptyState } from "@/components/EmptyState";
import { LoadMore, allItems } from "@/components/LoadMore";
import { ProblemAlert } from "@/components/ProblemAlert";
import { formatDate } from "@/lib/format";

type InvoiceStatus = components["schemas"]["InvoiceStatus"];

const INVOICE_STATUS: Record<InvoiceStatus, { label: string; color: string }> = {
  draft: { label: "draft", color: "gray" },
  open: { label: "open", color: "blue" },
  partially_paid: { label: "partially paid", color: "yellow" },
  paid: { label: "paid", color: "green" },
  void: { label: "void", color: "dark" },
  uncollectible: { label: "written off", color: "red" },
};

function words(value: string): string {
  return value.replace(/_/g, " ");
}

export function InvoicesSection({ client }: { client: Client }) {
  const invoices = useInfiniteQuery({
    queryKey: [...keys.client(client.id), "invoices"],
    queryFn: async ({ pageParam }) =>
      data(await api.GET("/v1/invoices", { params: { query: { client_id: client.id, cursor: pageParam } } })),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const items = allItems(invoices.data?.pages);

  return (
    <section aria-labelledby="client-invoices">
      <Title order={2} size="h4" id="client-invoices" mb="xs">
        Invoices
      </Title>
      <ProblemAlert error={invoices.error} />
      {invoices.isSuccess && items.length === 0 ? (
        <EmptyState title="No invoices for this client">
          Create one on the <AnchorLink to="/invoices" underline="always">Invoices</AnchorLink> page and choose this client.
        </EmptyState>
      ) : (
        <Table.ScrollContainer minWidth={720}>
          <Table aria-label="Invoices of this client" striped>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Invoice</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th>Issued</Table.Th>
                <Table.Th>Due</Table.Th>
                <Table.Th ta="right">Total</Table.Th>
                <Table.Th ta="right">Balance</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {items.map((invoice) => {
                const status = INVOICE_STATUS[invoice.status];
                return (
                  <Table.Tr key={invoice.id}>
                    <Table.Td>
                      <AnchorLink to="/invoices/$invoiceId" params={{ invoiceId: invoice.id }} underline="always">
                        {invoice.number ?? "Draft"}
                        {invoice.kind === "credit_note" ? " (credit note)" : ""}
                      </AnchorLink>
                    </Table.Td>
                    <Table.Td>
                      <Group gap={4}>
                        <Badge variant="light" color={status.color}>
                          {status.label}
                        </Badge>
                        {invoice.in_collections && (
                          <Badge variant="light" color="red">
                            in collections
                          </Badge>
                        )}
                      </Group>
                    </Table.Td>
                    <Table.Td>{formatDate(invoice.issue_date)}</Table.Td>
                    <Table.Td>{formatDate(invoice.due_date)}</Table.Td>
                    <Table.Td ta="right">{formatMinor(invoice.total, invoice.currency)}</Table.Td>
                    <Table.Td ta="right">{formatMinor(invoice.balance, invoice.currency)}</Table.Td>
                  </Table.Tr>
                );
              })}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      <LoadMore {...invoices} />
    </section>
  );
}

export function PaymentsSection({ client }: { client: Client }) {
  return (
    <Stack gap="xl">
      <CreditBalance client={client} />
      <Payments client={client} />
    </Stack>
  );
}

function CreditBalance({ client }: { client: Client }) {
  const credit = useQuery({
    queryKey: [...keys.client(client.id), "credit"],
    queryFn: async () =>
      data(await api.GET("/v1/clients/{client_id}/credit", { params: { path: { client_id: client.id } } })),
  });
  const balances = credit.data?.balances.filter((balance) => balance.amount !== 0) ?? [];
  return (
    <section aria-labelledby="client-credit">
      <Title order={2} size="h4" id="client-credit" mb="xs">
        Credit balance
      </Title>
      <ProblemAlert error={credit.error} />
      {credit.isSuccess && (
        <Paper withBorder p="md">
          {balances.length === 0 ? (
            <Text>No credit. Overpayments and credit notes put to credit appear here, ready to apply to invoices.</Text>
          ) : (
            <Group gap="xl">
              {balances.map((balance) => (
                <Stack gap={0} key={balance.currency}>
                  <Text size="xs" c="gray.7">
                    {balance.currency}
                  </Text>
                  <Text fw={600} size="lg">
                    {formatMinor(balance.amount, balance.currency)}
                  </Text>
                </Stack>
              ))}
            </Group>
          )}
        </Paper>
      )}
    </section>
  );
}

function Payments({ client }: { client: Client }) {
  const payments = useInfiniteQuery({
    queryKey: [...keys.client(client.id), "payments"],
    queryFn: async ({ pageParam }) =>
      data(await api.GET("/v1/payments", { params: { query: { client_id: client.id, cursor: pageParam } } })),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const items = allItems(payments.data?.pages);
  return (
    <section aria-labelledby="client-payments">
      <Title order={2} size="h4" id="client-payments" mb="xs">
        Payments and refunds
      </Title>
      <ProblemAlert error={payments.error} />
      {payments.isSuccess && items.length === 0 ? (
        <EmptyState title="No payments from this client yet">
          Payments are recorded on an invoice&apos;s page, or arrive by themselves when the client pays online.
        </EmptyState>
      ) : (
        <Table.ScrollContainer minWidth={720}>
          <Table aria-label="Payments and refunds of this client" striped>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Received</Table.Th>
                <Table.Th>Kind</Table.Th>
                <Table.Th>Method</Table.Th>
                <Table.Th>Invoice</Table.Th>
                <Table.Th>Reference</Table.Th>
                <Table.Th ta="right">Amount</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {items.map((payment) => (
                <Table.Tr key={payment.id}>
                  <Table.Td>{formatDate(payment.received_on)}</Table.Td>
                  <Table.Td>{payment.kind}</Table.Td>
                  <Table.Td>{words(payment.method)}</Table.Td>
                  <Table.Td>
                    {payment.invoice_id ? (
                      <AnchorLink to="/invoices/$invoiceId" params={{ invoiceId: payment.invoice_id }} underline="always">
                        Open invoice
                      </AnchorLink>
                    ) : (
                      "To credit"
                    )}
                  </Table.Td>
                  <Table.Td>{payment.reference ?? "—"}</Table.Td>
                  <Table.Td ta="right">
                    {formatMinor(payment.kind === "refund" ? -payment.amount : payment.amount, payment.currency)}
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      <LoadMore {...payments} />
    </section>
  );
}
