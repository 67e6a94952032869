import { Badge } from "@mantine/core";

import type { components } from "@/api/schema";

const LOOK: Record<components["schemas"]["RecurringStatus"], { color: string; label: string }> = {
  active: { color: "green", label: "Active" },
  paused: { color: "orange", label: "Paused" },
  ended: { color: "gray", label: "Ended" },
};

export function RecurringStatusBadge({ status }: { status: components["schemas"]["RecurringStatus"] }) {
  const look = LOOK[status];
  // A dot badge writes in the text colour: the light variants stay below 4.5:1 contrast.
  return (
    <Badge color={look.color} variant="dot" component="span">
      {look.label}
    </Badge>
  );
}
