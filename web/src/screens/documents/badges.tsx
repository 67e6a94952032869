import { Badge, Group } from "@mantine/core";

import { STATUS_LABELS, isStatus } from "./search";

const STATUS_COLORS = { draft: "gray", in_review: "blue", approved: "teal", published: "green" } as const;

export function DocumentStatusBadge({ status }: { status: string }) {
  if (!isStatus(status)) return <Badge variant="light">{status}</Badge>;
  return (
    <Badge variant="light" color={STATUS_COLORS[status]} style={{ flexShrink: 0 }}>
      {STATUS_LABELS[status]}
    </Badge>
  );
}

export function LegalHoldBadge() {
  return (
    <Badge variant="light" color="orange" title="A legal hold blocks every deletion" style={{ flexShrink: 0 }}>
      Legal hold
    </Badge>
  );
}

/** The status, with the hold beside it when there is one. */
export function DocumentBadges({ status, legalHold }: { status: string; legalHold: boolean }) {
  return (
    <Group gap={4}>
      <DocumentStatusBadge status={status} />
      {legalHold && <LegalHoldBadge />}
    </Group>
  );
}
