import { Anchor, Button, Group, Paper, Skeleton, Title } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { useQuery } from "@tanstack/react-query";

import { api, data } from "@/api/client";
import { ProblemAlert } from "@/components/ProblemAlert";
import { invoiceKey, type InvoiceSummary } from "./queries";

/**
 * The invoice as the API renders it with the firm's template. The HTML is staff-written, so
 * it is shown in a frame sandboxed of everything (no script, no same-origin access). It is
 * fetched and shown on demand: a draft's HTML changes with every saved edit.
 */
export function InvoicePreview({ invoice }: { invoice: InvoiceSummary }) {
  const [shown, { toggle }] = useDisclosure(false);
  const html = useQuery({
    enabled: shown,
    queryKey: [...invoiceKey(invoice.id), "html", invoice.updated_at],
    queryFn: async () =>
      data(
        await api.GET("/v1/invoices/{invoice_id}/html", {
          params: { path: { invoice_id: invoice.id } },
          parseAs: "text",
        }),
      ),
    placeholderData: (previous) => previous,
  });
  const address = `/v1/invoices/${invoice.id}/html`;
  return (
    <section aria-labelledby="invoice-preview">
      <Group justify="space-between" mb="xs">
        <Title order={2} size="h4" id="invoice-preview">
          Preview
        </Title>
        <Group gap="md">
          <Anchor href={address} target="_blank" rel="noopener noreferrer">
            Open in a new tab
          </Anchor>
          <Button variant="default" onClick={toggle} aria-expanded={shown}>
            {shown ? "Hide preview" : "Show preview"}
          </Button>
        </Group>
      </Group>
      {shown && <ProblemAlert error={html.error} />}
      {!shown ? null : html.data === undefined ? (
        html.isPending && <Skeleton h={480} />
      ) : (
        <Paper withBorder>
          <iframe
            sandbox=""
            srcDoc={String(html.data)}
            title="Invoice preview"
            // Whether it shows the invoice as it is now (not the previous version while the new one loads).
            data-fresh={!html.isPlaceholderData && !html.isFetching}
            style={{ width: "100%", height: 720, border: 0, display: "block", background: "white" }}
          />
        </Paper>
      )}
    </section>
  );
}
