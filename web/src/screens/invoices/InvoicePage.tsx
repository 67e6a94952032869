import { Anchor, Grid, Group, Paper, SimpleGrid, Skeleton, Stack, Table, Text, Title } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import { Link } from "@tanstack/react-router";

import { useMe } from "@/app/session";
import { PageHeader } from "@/components/PageHeader";
import { ProblemAlert } from "@/components/ProblemAlert";
import { formatDate, formatDateTime } from "@/lib/format";
import { CreditNotesSection } from "./CreditNotesSection";
import { DunningSection } from "./DunningSection";
import { DraftActions, IssuedActions } from "./InvoiceActions";
import { InvoiceForm } from "./InvoiceForm";
import { InvoicePreview } from "./InvoicePreview";
import { InvoiceLink } from "./InvoiceLink";
import { formatMinor } from "@/lib/money";
import { PaymentsSection } from "./PaymentsSection";
import { clientQuery, invoiceQuery, type Invoice } from "./queries";
import { invoiceRoute } from "./routes";
import { SaveStatus } from "./SaveStatus";
import { StatusBadge } from "./StatusBadge";
import { Totals } from "./Totals";
import { useDraftAutosave } from "./useDraftAutosave";

/** A draft: edited in place, saved as one types, with the totals the API computed. */
function DraftInvoice({ invoice }: { invoice: Invoice }) {
  const autosave = useDraftAutosave(invoice);
  return (
    <>
      <PageHeader
        title="Draft invoice"
        description="Changes are saved as you type; the totals are the API's."
        actions={<DraftActions invoice={invoice} settle={autosave.settle} />}
      />
      <Stack>
        <SaveStatus state={autosave.state} />
        <ProblemAlert error={autosave.error} unplaced={autosave.unplaced} />
        <Paper withBorder p="md">
          <InvoiceForm form={autosave.form} />
        </Paper>
        <Totals invoice={invoice} issued={false} />
        <InvoicePreview invoice={invoice} />
      </Stack>
    </>
  );
}

function Detail({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div>
      <Text size="xs" c="gray.7" fw={600} tt="uppercase">
        {label}
      </Text>
      <Text size="sm" component="div">
        {children}
      </Text>
    </div>
  );
}

function IssuedSummary({ invoice }: { invoice: Invoice }) {
  const { firm } = useMe();
  const client = useQuery({ ...clientQuery(invoice.client_id), enabled: invoice.bill_to === null });
  const billTo = invoice.bill_to;
  return (
    <SimpleGrid cols={{ base: 1, sm: 2, md: 4 }}>
      <Detail label="Bill to">
        {billTo ? (
          <>
            {billTo.name}
            {billTo.email && <Text size="sm" c="gray.7">{billTo.email}</Text>}
            {billTo.address_lines.map((line) => (
              <Text size="sm" c="gray.7" key={line}>
                {line}
              </Text>
            ))}
          </>
        ) : (
          client.data?.name ?? "…"
        )}
      </Detail>
      <Detail label="Issued">{formatDate(invoice.issue_date)}</Detail>
      <Detail label="Due">{formatDate(invoice.due_date)}</Detail>
      <Detail label="Sent">{invoice.sent_at ? formatDateTime(invoice.sent_at, firm.time_zone) : "Not yet"}</Detail>
      {invoice.paid_at && <Detail label="Paid">{formatDateTime(invoice.paid_at, firm.time_zone)}</Detail>}
      {invoice.voided_at && <Detail label="Voided">{formatDateTime(invoice.voided_at, firm.time_zone)}</Detail>}
      {invoice.uncollectible_at && (
        <Detail label="Written off">{formatDateTime(invoice.uncollectible_at, firm.time_zone)}</Detail>
      )}
      {invoice.credited_invoice_id && (
        <Detail label="Credits">
          <InvoiceLink invoiceId={invoice.credited_invoice_id}>The invoice it credits</InvoiceLink>
        </Detail>
      )}
    </SimpleGrid>
  );
}

function LinesTable({ invoice }: { invoice: Invoice }) {
  const money = (amount: number) => formatMinor(amount, invoice.currency);
  return (
    <Table.ScrollContainer minWidth={640}>
      <Table aria-label="Invoice lines">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Description</Table.Th>
            <Table.Th ta="right">Quantity</Table.Th>
            <Table.Th ta="right">Unit price</Table.Th>
            <Table.Th>Tax</Table.Th>
            <Table.Th ta="right">Amount</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {invoice.lines.map((line) => (
            <Table.Tr key={line.id}>
              <Table.Td>{line.description}</Table.Td>
              <Table.Td ta="right">{line.quantity.replace(/\.?0+$/, "")}</Table.Td>
              <Table.Td ta="right">{money(line.unit_price)}</Table.Td>
              <Table.Td>{line.taxes.map((tax) => tax.name).join(", ") || "—"}</Table.Td>
              <Table.Td ta="right">{money(line.amount)}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

/** A finalized invoice or credit note: what it says, the money on it, and its reminders. */
function IssuedInvoice({ invoice }: { invoice: Invoice }) {
  const noun = invoice.kind === "credit_note" ? "Credit note" : "Invoice";
  return (
    <>
      <PageHeader
        title={`${noun} ${invoice.number ?? ""}`.trim()}
        description={<StatusBadge invoice={invoice} />}
        actions={<IssuedActions invoice={invoice} />}
      />
      <Stack gap="xl">
        <Paper withBorder p="md">
          <Stack>
            <IssuedSummary invoice={invoice} />
            <LinesTable invoice={invoice} />
            <Totals invoice={invoice} issued />
            {invoice.notes && <Text size="sm">{invoice.notes}</Text>}
          </Stack>
        </Paper>
        {invoice.kind === "invoice" && (
          <Grid gap="xl">
            <Grid.Col span={{ base: 12, lg: 7 }}>
              <Stack gap="xl">
                <PaymentsSection invoice={invoice} />
                <CreditNotesSection invoice={invoice} />
              </Stack>
            </Grid.Col>
            <Grid.Col span={{ base: 12, lg: 5 }}>
              <DunningSection invoice={invoice} />
            </Grid.Col>
          </Grid>
        )}
        <InvoicePreview invoice={invoice} />
      </Stack>
    </>
  );
}

export function InvoicePage() {
  const { invoiceId } = invoiceRoute.useParams();
  const invoice = useQuery(invoiceQuery(invoiceId));
  return (
    <>
      <Group mb="xs">
        <Anchor component={Link} to="/invoices" size="sm">
          ← All invoices
        </Anchor>
      </Group>
      {invoice.error ? (
        <>
          <Title order={1} size="h2">
            Invoice
          </Title>
          <ProblemAlert error={invoice.error} />
        </>
      ) : !invoice.data ? (
        <Skeleton h={320} />
      ) : invoice.data.status === "draft" ? (
        <DraftInvoice key={invoice.data.id} invoice={invoice.data} />
      ) : (
        <IssuedInvoice invoice={invoice.data} />
      )}
    </>
  );
}
