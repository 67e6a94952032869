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
      <Badge variant="light" color="dark">
        archived
      </Badge>
    );
  }
  return (
    <Badge variant="light" color={COLORS[client.status]}>
      {client.status}
    </Badge>
  );
}
