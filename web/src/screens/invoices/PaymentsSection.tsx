import { Button, Group, Modal, Select, Stack, Table, Text, TextInput, Title, VisuallyHidden } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { useInfiniteQuery, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { api, data } from "@/api/client";
import type { components } from "@/api/schema";
import { useMe } from "@/app/session";
import { ConfirmAction } from "@/components/ConfirmAction";
import { EmptyState } from "@/components/EmptyState";
import { allItems, LoadMore } from "@/components/LoadMore";
import { ProblemAlert } from "@/components/ProblemAlert";
import { useApiForm } from "@/components/useApiForm";
import { formatDate, todayIn } from "@/lib/format";
import { formatMinor, minorToInput, parseMinor } from "@/lib/money";
import { NOT_AN_AMOUNT } from "./draft";
import { invoiceKey, type Invoice, type Payment } from "./queries";

type ManualMethod = components["schemas"]["ManualMethod"];

const METHODS: { value: ManualMethod; label: string }[] = [
  { value: "bank_transfer", label: "Bank transfer" },
  { value: "cash", label: "Cash" },
  { value: "check", label: "Check" },
  { value: "other", label: "Other" },
];

const METHOD_LABELS: Record<string, string> = {
  bank_transfer: "Bank transfer",
  cash: "Cash",
  check: "Check",
  card: "Card",
  credit: "Client credit",
  other: "Other",
};

/** After money moved: the invoice, its payments and the client's credit are read again. */
function useMoneyMoved(invoice: Invoice) {
  const queryClient = useQueryClient();
  return async () => {
    await Promise.all([
      queryClient.invalidateQueries({ queryKey: invoiceKey(invoice.id) }),
      queryClient.invalidateQueries({ queryKey: ["clients", "credit", invoice.client_id] }),
      queryClient.invalidateQueries({ queryKey: ["invoices", "list"] }),
    ]);
  };
}

interface PaymentValues extends Record<string, unknown> {
  amount: string;
  method: ManualMethod;
  received_on: string;
  reference: string;
}

function RecordPayment({ invoice }: { invoice: Invoice }) {
  const { firm } = useMe();
  const [opened, { open, close }] = useDisclosure(false);
  const moved = useMoneyMoved(invoice);
  const { form, error, unplaced, submit, submitting } = useApiForm<PaymentValues>({
    initialValues: {
      amount: invoice.balance > 0 ? minorToInput(invoice.balance, invoice.currency) : "",
      method: "bank_transfer",
      received_on: todayIn(firm.time_zone),
      reference: "",
    },
  });
  const record = submit(async (values) => {
    await api.POST("/v1/invoices/{invoice_id}/payments", {
      params: { path: { invoice_id: invoice.id } },
      body: {
        amount: parseMinor(values.amount, invoice.currency) ?? NOT_AN_AMOUNT,
        currency: invoice.currency,
        method: values.method,
        received_on: values.received_on || null,
        reference: values.reference.trim() || null,
      },
    });
    await moved();
    close();
  });
  return (
    <>
      <Button onClick={open}>Record a payment</Button>
      <Modal opened={opened} onClose={close} title="Record a payment" centered>
        <form onSubmit={record} noValidate>
          <Stack>
            <Text size="sm">
              Money received outside Stripe. What exceeds the balance of{" "}
              {formatMinor(invoice.balance, invoice.currency)} becomes the client&apos;s credit.
            </Text>
            <ProblemAlert error={error} unplaced={unplaced} />
            <TextInput label={`Amount (${invoice.currency})`} inputMode="decimal" required {...form.getInputProps("amount")} />
            <Select label="Method" data={METHODS} allowDeselect={false} {...form.getInputProps("method")} />
            <TextInput type="date" label="Received on" {...form.getInputProps("received_on")} />
            <TextInput label="Reference"
          description="Bank reference, check number…" {...form.getInputProps("reference")} />
            <Group justify="flex-end">
              <Button variant="default" onClick={close}>
                Cancel
              </Button>
              <Button type="submit" loading={submitting}>
                Record payment
              </Button>
            </Group>
          </Stack>
        </form>
      </Modal>
    </>
  );
}

function RefundAction({ invoice, payment }: { invoice: Invoice; payment: Payment }) {
  const moved = useMoneyMoved(invoice);
  const [amount, setAmount] = useState(minorToInput(payment.amount, payment.currency));
  const [reason, setReason] = useState("");
  return (
    <ConfirmAction
      label="Refund"
      size="xs"
      title="Refund this payment?"
      consequence={
        <>
          Records money paid back to the client: first from what this payment paid on the
          invoice (its balance grows again), then from the client credit it became. Send the
          money itself by the way it came.
        </>
      }
      onConfirm={async () => {
        await api.POST("/v1/payments/{payment_id}/refunds", {
          params: { path: { payment_id: payment.id } },
          body: { amount: parseMinor(amount, payment.currency) ?? NOT_AN_AMOUNT, reason: reason.trim() || null },
        });
        await moved();
      }}
    >
      <TextInput label={`Amount (${payment.currency})`} inputMode="decimal" value={amount} onChange={(event) => setAmount(event.currentTarget.value)} />
      <TextInput label="Reason (optional)" value={reason} onChange={(event) => setReason(event.currentTarget.value)} />
    </ConfirmAction>
  );
}

function ApplyCredit({ invoice }: { invoice: Invoice }) {
  const moved = useMoneyMoved(invoice);
  const credit = useQuery({
    queryKey: ["clients", "credit", invoice.client_id],
    queryFn: async () =>
      data(await api.GET("/v1/clients/{client_id}/credit", { params: { path: { client_id: invoice.client_id } } })),
  });
  const available = credit.data?.balances.find((balance) => balance.currency === invoice.currency)?.amount ?? 0;
  if (available <= 0) return null;
  const applied = Math.min(available, invoice.balance);
  return (
    <ConfirmAction
      label="Apply credit"
      title="Pay from the client's credit?"
      confirmColor="blue"
      consequence={
        <>
          The client has {formatMinor(available, invoice.currency)} of credit. {formatMinor(applied, invoice.currency)}{" "}
          of it pays this invoice, and leaves the credit.
        </>
      }
      onConfirm={async () => {
        await api.POST("/v1/invoices/{invoice_id}/apply-credit", {
          params: { path: { invoice_id: invoice.id } },
          body: {},
        });
        await moved();
      }}
    />
  );
}

/** Money received for the invoice and paid back, with what can still be done about it. */
export function PaymentsSection({ invoice }: { invoice: Invoice }) {
  const payments = useInfiniteQuery({
    queryKey: [...invoiceKey(invoice.id), "payments", invoice.updated_at],
    queryFn: async ({ pageParam }) =>
      data(
        await api.GET("/v1/payments", {
          params: { query: { invoice_id: invoice.id, limit: 25, cursor: pageParam } },
        }),
      ),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (page) => page.next_cursor ?? undefined,
  });
  const items = allItems(payments.data?.pages);
  const receivable = invoice.status === "open" || invoice.status === "partially_paid" || invoice.status === "uncollectible";
  const accepts = invoice.kind === "invoice" && invoice.status !== "draft";
  return (
    <section aria-labelledby="invoice-payments">
      <Group justify="space-between" mb="xs">
        <Title order={2} size="h4" id="invoice-payments">
          Payments
        </Title>
        <Group gap="sm">
          {receivable && <ApplyCredit invoice={invoice} />}
          {accepts && <RecordPayment key={invoice.updated_at} invoice={invoice} />}
        </Group>
      </Group>
      <ProblemAlert error={payments.error} />
      {items.length === 0 ? (
        !payments.isPending && (
          <EmptyState title="No payments yet">
            {accepts
              ? "Record money received by transfer, cash or check; card payments through the pay link appear here by themselves."
              : "Finalize the invoice first; payments are recorded against issued invoices."}
          </EmptyState>
        )
      ) : (
        <Table.ScrollContainer minWidth={680}>
          <Table aria-label="Payments and refunds">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Received</Table.Th>
                <Table.Th>Kind</Table.Th>
                <Table.Th>Method</Table.Th>
                <Table.Th>Reference</Table.Th>
                <Table.Th ta="right">Amount</Table.Th>
                <Table.Th ta="right">To credit</Table.Th>
                <Table.Th>
                  <VisuallyHidden>Actions</VisuallyHidden>
                </Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {items.map((payment) => (
                <Table.Tr key={payment.id}>
                  <Table.Td style={{ whiteSpace: "nowrap" }}>{formatDate(payment.received_on)}</Table.Td>
                  <Table.Td>{payment.kind === "refund" ? "Refund" : "Payment"}</Table.Td>
                  <Table.Td>{METHOD_LABELS[payment.method] ?? payment.method}</Table.Td>
                  <Table.Td>{payment.reference ?? payment.provider_ref ?? "—"}</Table.Td>
                  <Table.Td ta="right">{formatMinor(payment.amount, payment.currency)}</Table.Td>
                  <Table.Td ta="right">{formatMinor(payment.credited_amount, payment.currency)}</Table.Td>
                  <Table.Td>{payment.kind === "payment" && payment.method !== "credit" && (
                      <RefundAction invoice={invoice} payment={payment} />
                    )}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      <LoadMore
        hasNextPage={payments.hasNextPage}
        isFetchingNextPage={payments.isFetchingNextPage}
        fetchNextPage={payments.fetchNextPage}
      />
    </section>
  );
}
