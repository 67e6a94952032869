import { Badge } from "@mantine/core";

import { STATUS_COLORS, STATUS_LABELS, type ApprovalStatus } from "./approvalQueries";

export function ApprovalStatusBadge({ status }: { status: ApprovalStatus }) {
  return (
    <Badge color={STATUS_COLORS[status]} variant="filled">
      {STATUS_LABELS[status]}
    </Badge>
  );
}
