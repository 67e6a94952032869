import { Badge } from "@mantine/core";

import type { Client } from "./queries";

const COLORS: Record<Client["status"], string> = {
  prospect: "blue",
  active: "green",
  inactive: "gray",
};

export function ClientStatusBadge({ client }: { client: Client }) {
  if (client.archived_at) {
    return (
      <Badge color="dark" variant="light">
        archived
      </Badge>
    );
  }
  return (
    <Badge color={COLORS[client.status]} variant="light">
      {client.status}
    </Badge>
  );
}
