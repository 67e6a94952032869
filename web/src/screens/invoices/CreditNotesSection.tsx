import { Group, Table, Textarea, TextInput, Title } from "@mantine/core";
import { useInfiniteQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { api, data } from "@/api/client";
import { ConfirmAction } from "@/components/ConfirmAction";
import { EmptyState } from "@/components/EmptyState";
import { allItems, LoadMore } from "@/components/LoadMore";
import { ProblemAlert } from "@/components/ProblemAlert";
import { formatDate } from "@/lib/format";
import { InvoiceLink } from "./InvoiceLink";
import { formatMinor, parseMinor } from "@/lib/money";
import { NOT_AN_AMOUNT } from "./draft";
import { invoiceKey, type Invoice } from "./queries";

function IssueCreditNote({ invoice }: { invoice: Invoice }) {
  const queryClient = useQueryClient();
  const [amount, setAmount] = useState("");
  const [notes, setNotes] = useState("");
  return (
    <ConfirmAction
      label="Issue a credit note"
      title={`Credit invoice ${invoice.number ?? ""}?`}
      confirmColor="blue"
      consequence={
        <>
          A numbered credit note for the amount below is issued to the client. It reduces what
          this invoice owes ({formatMinor(invoice.balance, invoice.currency)}); whatever the
          invoice cannot absorb becomes the client&apos;s credit. A credit note cannot be deleted.
        </>
      }
      onConfirm={async () => {
        await api.POST("/v1/invoices/{invoice_id}/credit-notes", {
          params: { path: { invoice_id: invoice.id } },
          body: { amount: parseMinor(amount, invoice.currency) ?? NOT_AN_AMOUNT, notes: notes.trim() || null },
        });
        await Promise.all([
          queryClient.invalidateQueries({ queryKey: invoiceKey(invoice.id) }),
          queryClient.invalidateQueries({ queryKey: ["clients", "credit", invoice.client_id] }),
          queryClient.invalidateQueries({ queryKey: ["invoices", "list"] }),
        ]);
        setAmount("");
        setNotes("");
      }}
    >
      <TextInput
        label={`Amount (${invoice.currency})`}
        inputMode="decimal"
        value={amount}
        onChange={(event) => setAmount(event.currentTarget.value)}
      />
      <Textarea label="Notes (printed on the credit note)" value={notes} onChange={(event) => setNotes(event.currentTarget.value)} />
    </ConfirmAction>
  );
}

/**
 * The credit notes issued against this invoice. The API lists credit notes by client, so
 * this reads the client's and keeps the ones that credit this invoice.
 */
export function CreditNotesSection({ invoice }: { invoice: Invoice }) {
  const notes = useInfiniteQuery({
    queryKey: [...invoiceKey(invoice.id), "credit-notes", invoice.updated_at],
    queryFn: async ({ pageParam }) =>
      data(
        await api.GET("/v1/invoices", {
          params: {
            query: { kind: "credit_note", client_id: invoice.client_id, limit: 100, cursor: pageParam },
          },
        }),
      ),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (page) => page.next_cursor ?? undefined,
  });
  const items = allItems(notes.data?.pages).filter((note) => note.credited_invoice_id === invoice.id);
  const creditable = invoice.status !== "draft" && invoice.status !== "void";
  return (
    <section aria-labelledby="invoice-credit-notes">
      <Group justify="space-between" mb="xs">
        <Title order={2} size="h4" id="invoice-credit-notes">
          Credit notes
        </Title>
        {creditable && <IssueCreditNote invoice={invoice} />}
      </Group>
      <ProblemAlert error={notes.error} />
      {items.length === 0 ? (
        !notes.isPending && (
          <EmptyState title="No credit notes">
            {creditable
              ? "Issue one to reduce what this invoice owes, for a discount granted afterwards or work not done."
              : "Credit notes are issued against finalized invoices."}
          </EmptyState>
        )
      ) : (
        <Table aria-label="Credit notes of this invoice">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Number</Table.Th>
              <Table.Th>Issued</Table.Th>
              <Table.Th>Notes</Table.Th>
              <Table.Th ta="right">Total</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {items.map((note) => (
              <Table.Tr key={note.id}>
                <Table.Td>
                  <InvoiceLink invoiceId={note.id}>{note.number ?? "Credit note"}</InvoiceLink>
                </Table.Td>
                <Table.Td>{formatDate(note.issue_date)}</Table.Td>
                <Table.Td>{note.notes ?? "—"}</Table.Td>
                <Table.Td ta="right">{formatMinor(note.total, note.currency)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      <LoadMore hasNextPage={notes.hasNextPage} isFetchingNextPage={notes.isFetchingNextPage} fetchNextPage={notes.fetchNextPage} />
    </section>
  );
}
