import { Alert, Badge, Button, Card, Group, Loader, Skeleton, Stack, Text, Title } from "@mantine/core";
import { useMutation, useQuery } from "@tanstack/react-query";
import { useRef } from "react";

import { payRoute } from "./routes";
import { api, data } from "@/api/client";
import { ApiProblem } from "@/api/problem";
import type { components } from "@/api/schema";
import { PageHeader } from "@/components/PageHeader";
import { ProblemAlert } from "@/components/ProblemAlert";
import { formatDate } from "@/lib/format";
import { formatMinor } from "@/lib/money";

type PublicInvoice = components["schemas"]["PublicInvoiceRead"];

// Mantine's light alerts and badges draw green and yellow text too pale to read (axe's contrast
// rule); the page keeps their tint and writes the words in the text colour.
const READABLE = { title: { color: "var(--mantine-color-text)" } };

// How often, and how many times, the page asks again while Stripe's confirmation is on its
// way (about two minutes; a reload asks again after that).
const PROCESSING_POLL_MS = 1_500;
const PROCESSING_POLLS = 80;

const STATUS_LABELS: Record<PublicInvoice["status"], { label: string; color: string }> = {
  draft: { label: "Draft", color: "gray" },
  open: { label: "Open", color: "blue" },
  partially_paid: { label: "Partially paid", color: "yellow" },
  paid: { label: "Paid", color: "green" },
  void: { label: "Void", color: "gray" },
  uncollectible: { label: "Written off", color: "gray" },
};

/** The client-facing invoice of an emailed pay link: the invoice, what is owed, and Pay. */
export function PayPage() {
  const { invoiceId } = payRoute.useParams();
  const { t: token, checkout } = payRoute.useSearch();
  const returnedPaid = checkout === "paid";

  const invoice = useQuery({
    queryKey: ["public-invoice", invoiceId, token],
    enabled: token !== undefined,
    retry: false,
    queryFn: async () =>
      data(
        await api.GET("/v1/public/invoices/{invoice_id}", {
          params: { path: { invoice_id: invoiceId }, header: { "X-Pay-Token": token } },
        }),
      ),
    // Back from Checkout, the payment is recorded once Stripe's event arrives: ask until then.
    refetchInterval: (query) =>
      returnedPaid &&
      query.state.data &&
      !settled(query.state.data) &&
      query.state.dataUpdateCount < PROCESSING_POLLS
        ? PROCESSING_POLL_MS
        : false,
  });

  if (token === undefined || (invoice.error instanceof ApiProblem && invoice.error.status === 404)) {
    return <InvalidLink />;
  }
  if (invoice.error) {
    return (
      <>
        <PageHeader title="Invoice" />
        <ProblemAlert error={invoice.error} />
      </>
    );
  }
  if (!invoice.data) return <LoadingInvoice />;
  return <InvoiceView invoice={invoice.data} token={token} checkout={checkout} />;
}

function settled(invoice: PublicInvoice): boolean {
  return invoice.status === "paid" || invoice.status === "void";
}

function InvalidLink() {
  return (
    <>
      <PageHeader title="This link does not work" />
      <Alert color="red" styles={READABLE} title="The payment link is not valid or has expired" role="alert">
        Payment links last 60 days and only open the invoice they were sent for. Ask the firm
        that sent you the invoice for a new link.
      </Alert>
    </>
  );
}

function LoadingInvoice() {
  return (
    <Stack aria-busy="true" aria-label="Loading the invoice">
      <Skeleton height={32} width="60%" />
      <Skeleton height={120} />
      <Skeleton height={400} />
    </Stack>
  );
}

interface ViewProps {
  invoice: PublicInvoice;
  token: string;
  checkout: "paid" | "cancelled" | undefined;
}

function InvoiceView({ invoice, token, checkout }: ViewProps) {
  const money = (minor: number) => formatMinor(minor, invoice.currency);
  const status = STATUS_LABELS[invoice.status];
  const processing = checkout === "paid" && !settled(invoice);
  const title = invoice.number ? `Invoice ${invoice.number}` : "Invoice";

  return (
    <Stack gap="lg">
      <PageHeader
        title={title}
        description={`From ${invoice.seller.legal_name} to ${invoice.client.name}`}
      />
      <Card withBorder padding="lg" component="section" aria-labelledby="amount-due">
        <Group justify="space-between" align="flex-start" wrap="wrap">
          <Stack gap={4}>
            <Title order={2} size="h4" id="amount-due">
              Amount due
            </Title>
            <Text size="xl" fw={700} data-testid="amount-due">
              {money(invoice.amount_due)}
            </Text>
            <Text size="sm" c="gray.7">
              Total {money(invoice.totals.total)}
              {invoice.due_date && ` · due ${formatDate(invoice.due_date)}`}
            </Text>
          </Stack>
          <Badge size="lg" color={status.color} variant="light" data-testid="invoice-status">
            {status.label}
          </Badge>
        </Group>
        <Stack mt="md" gap="sm">
          <PaymentState invoice={invoice} checkout={checkout} processing={processing} />
          {invoice.payable && !processing && (
            <PayButton invoiceId={invoice.id} token={token} amount={money(invoice.amount_due)} />
          )}
        </Stack>
      </Card>
      <section aria-labelledby="invoice-document">
        <Group justify="space-between" align="center" mb="sm">
          <Title order={2} size="h4" id="invoice-document">
            The invoice
          </Title>
          {invoice.pdf_url && (
            <Button component="a" href={invoice.pdf_url} variant="default" download>
              Download PDF
            </Button>
          )}
        </Group>
        <InvoiceDocument html={invoice.html} title={title} />
      </section>
    </Stack>
  );
}

interface StateProps {
  invoice: PublicInvoice;
  checkout: "paid" | "cancelled" | undefined;
  processing: boolean;
}

function PaymentState({ invoice, checkout, processing }: StateProps) {
  if (invoice.status === "paid") {
    return (
      <Alert color="green" styles={READABLE} title="Paid" role="status">
        {checkout === "paid"
          ? "Your payment was received. Thank you!"
          : "This invoice is paid. Nothing is owed."}
      </Alert>
    );
  }
  if (processing) {
    return (
      <Alert color="blue" styles={READABLE} title="Payment received, processing" role="status">
        <Group gap="xs" wrap="nowrap">
          <Loader size="xs" aria-hidden="true" />
          <Text size="sm">
            Stripe is confirming your payment; this page updates by itself when it is recorded.
          </Text>
        </Group>
      </Alert>
    );
  }
  if (!invoice.payable) {
    return (
      <Alert color="blue" styles={READABLE} title="No online payment" role="status">
        {invoice.not_payable_reason}
      </Alert>
    );
  }
  if (checkout === "cancelled") {
    return (
      <Alert color="blue" styles={READABLE} title="Payment cancelled" role="status">
        Nothing was charged. You can pay whenever you are ready.
      </Alert>
    );
  }
  return null;
}

function PayButton({ invoiceId, token, amount }: { invoiceId: string; token: string; amount: string }) {
  const pay = useMutation({
    mutationFn: async () =>
      data(
        await api.POST("/v1/public/invoices/{invoice_id}/checkout", {
          params: { path: { invoice_id: invoiceId }, header: { "X-Pay-Token": token } },
        }),
      ),
    // Stripe Checkout is another site: a full navigation, not a route change.
    onSuccess: ({ url }) => window.location.assign(url),
  });
  return (
    <>
      <ProblemAlert error={pay.error} />
      <Group>
        <Button size="md" onClick={() => pay.mutate()} loading={pay.isPending || pay.isSuccess}>
          Pay {amount}
        </Button>
        <Text size="sm" c="gray.7">
          By card, through Stripe's secure checkout.
        </Text>
      </Group>
    </>
  );
}

/**
 * The invoice as the firm's template renders it, in a frame of its own so its styles stay
 * its own. A srcdoc frame inherits this page's Content-Security-Policy, so nothing inline in
 * the firm's HTML runs (no script, no handler attribute); it stays same-origin (no sandbox)
 * so the page can fit the frame to the document and axe can check what the client reads.
 */
function InvoiceDocument({ html, title }: { html: string; title: string }) {
  const frame = useRef<HTMLIFrameElement>(null);
  const fit = () => {
    const root = frame.current?.contentDocument?.documentElement;
    if (frame.current && root) frame.current.style.height = `${root.scrollHeight + 16}px`;
  };
  return (
    <Card withBorder padding={0}>
      <iframe
        ref={frame}
        title={title}
        srcDoc={html}
        onLoad={fit}
        style={{ width: "100%", minHeight: 480, border: 0, display: "block" }}
      />
    </Card>
  );
}
