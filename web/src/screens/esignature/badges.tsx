import { Badge } from "@mantine/core";

import { RECIPIENT_STATUS_LABELS, STATUS_COLOURS, STATUS_LABELS, isEnvelopeStatus } from "./status";

export function StatusBadge({ status }: { status: string }) {
  const known = isEnvelopeStatus(status) ? status : null;
  return (
    <Badge variant="light" color={known ? STATUS_COLOURS[known] : "gray"}>
      {known ? STATUS_LABELS[known] : status}
    </Badge>
  );
}

const RECIPIENT_COLOURS: Record<string, string> = { signed: "green", declined: "red", viewed: "blue", sent: "blue" };

export function RecipientStatusBadge({ status }: { status: string }) {
  return (
    <Badge variant="light" color={RECIPIENT_COLOURS[status] ?? "gray"}>
      {RECIPIENT_STATUS_LABELS[status] ?? status}
    </Badge>
  );
}
