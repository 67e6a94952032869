import { Textarea } from "@mantine/core";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";
import { useState } from "react";

import { api, data } from "@/api/client";
import { ConfirmAction } from "@/components/ConfirmAction";
import { formatMinor } from "@/lib/money";
import { clientQuery, invoiceKey, type Invoice } from "./queries";

/** Keeps every view of the invoice in step with what an action answered. */
export function useInvoiceChanged() {
  const queryClient = useQueryClient();
  return async (invoice: Invoice) => {
    queryClient.setQueryData(invoiceKey(invoice.id), invoice);
    await Promise.all([
      queryClient.invalidateQueries({ queryKey: ["invoices", "list"] }),
      queryClient.invalidateQueries({ queryKey: [...invoiceKey(invoice.id), "dunning"] }),
    ]);
  };
}

const path = (invoice: Invoice) => ({ params: { path: { invoice_id: invoice.id } } });

function SendAction({ invoice, beforeSend }: { invoice: Invoice; beforeSend?: () => Promise<void> }) {
  const changed = useInvoiceChanged();
  const client = useQuery(clientQuery(invoice.client_id));
  const email = invoice.bill_to?.email ?? client.data?.email ?? null;
  return (
    <ConfirmAction
      label="Send to client"
      title="Send this invoice?"
      confirmColor="blue"
      variant="filled"
      consequence={
        <>
          {invoice.status === "draft" && "It is finalized first: numbered, dated and no longer editable. "}
          {email ? (
            <>
              An email with the invoice and a link to pay it online goes to <strong>{email}</strong>.
            </>
          ) : (
            "The client has no email address, so nothing can be delivered until one is added."
          )}{" "}
          Reminders then follow the firm's dunning policy until it is paid.
        </>
      }
      onConfirm={async () => {
        await beforeSend?.();
        await changed(data(await api.POST("/v1/invoices/{invoice_id}/send", path(invoice))));
      }}
    />
  );
}

/** What a draft can become: finalized, sent, or deleted. Each first saves pending edits. */
export function DraftActions({ invoice, settle }: { invoice: Invoice; settle: () => Promise<void> }) {
  const changed = useInvoiceChanged();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  return (
    <>
      <ConfirmAction
        label="Delete draft"
        title="Delete this draft?"
        consequence="The draft and its lines are deleted for good. It was never numbered or sent."
        onConfirm={async () => {
          await api.DELETE("/v1/invoices/{invoice_id}", path(invoice));
          queryClient.removeQueries({ queryKey: invoiceKey(invoice.id) });
          await queryClient.invalidateQueries({ queryKey: ["invoices", "list"] });
          await navigate({ to: "/invoices" });
        }}
      />
      <ConfirmAction
        label="Finalize"
        title="Finalize this invoice?"
        confirmColor="blue"
        consequence={
          <>
            It gets the next invoice number and its issue date (today unless one is set), and
            can no longer be edited: later corrections take a credit note or voiding it.
            Nothing is emailed until you send it.
          </>
        }
        onConfirm={async () => {
          await settle();
          await changed(data(await api.POST("/v1/invoices/{invoice_id}/finalize", path(invoice))));
        }}
      />
      <SendAction invoice={invoice} beforeSend={settle} />
    </>
  );
}

/** What an issued invoice can still go through: sending, voiding, writing off. */
export function IssuedActions({ invoice }: { invoice: Invoice }) {
  const changed = useInvoiceChanged();
  const [reason, setReason] = useState("");
  // A credit note only changes through the invoice it credits.
  const receivable = invoice.kind === "invoice" && (invoice.status === "open" || invoice.status === "partially_paid");
  const balance = formatMinor(invoice.balance, invoice.currency);
  return (
    <>
      {receivable && invoice.sent_at === null && <SendAction invoice={invoice} />}
      {receivable && invoice.status === "open" && (
        <ConfirmAction
          label="Void"
          title={`Void invoice ${invoice.number ?? ""}?`}
          consequence={
            <>
              The invoice stays on record under its number but owes nothing any more: reminders
              stop and its pay link shows it as void. This cannot be undone.
            </>
          }
          onConfirm={async () => {
            const body = reason.trim() ? { reason: reason.trim() } : undefined;
            await changed(
              data(await api.POST("/v1/invoices/{invoice_id}/void", { ...path(invoice), body })),
            );
          }}
        >
          <Textarea
            label="Reason (optional)"
          description="Kept in the audit log"
            value={reason}
            onChange={(event) => setReason(event.currentTarget.value)}
          />
        </ConfirmAction>
      )}
      {receivable && (
        <ConfirmAction
          label="Write off"
          title={`Write off invoice ${invoice.number ?? ""}?`}
          consequence={
            <>
              The balance of {balance} is marked uncollectible: reminders stop and it leaves the
              receivables. A later payment in full still marks it paid.
            </>
          }
          onConfirm={async () => {
            await changed(
              data(await api.POST("/v1/invoices/{invoice_id}/mark-uncollectible", path(invoice))),
            );
          }}
        />
      )}
    </>
  );
}
