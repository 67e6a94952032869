import { Badge } from "@mantine/core";

import { STATUS_COLORS, STATUS_LABELS, type InvoiceSummary } from "./queries";

/** The invoice's status, and "sent" once it went to the client. */
export function StatusBadge({ invoice }: { invoice: Pick<InvoiceSummary, "status" | "sent_at"> }) {
  const sent = invoice.sent_at !== null && invoice.status === "open";
  return (
    <Badge color={STATUS_COLORS[invoice.status]} variant="light" data-testid="invoice-status">
      {sent ? "Open · sent" : STATUS_LABELS[invoice.status]}
    </Badge>
  );
}
