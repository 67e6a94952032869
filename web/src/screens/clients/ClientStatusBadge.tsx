import { SoftBadge } from "./SoftBadge";
import type { Client } from "./queries";

const COLORS: Record<Client["status"], string> = {
  prospect: "blue",
  active: "green",
  inactive: "gray",
};

export function ClientStatusBadge({ client }: { client: Client }) {
  if (client.archived_at) {
    return (
      <SoftBadge color="dark">
        archived
      </SoftBadge>
    );
  }
  return (
    <SoftBadge color={COLORS[client.status]}>
      {client.status}
    </SoftBadge>
  );
}
