import { Badge } from "@mantine/core";
import type { ClientImport } from "./queries";

const COLORS: Record<ClientImport["status"], string> = {
  pending: "gray",
  running: "blue",
  completed: "green",
  failed: "red",
};

export function ImportStatusBadge({ status }: { status: ClientImport["status"] }) {
  return (
    <Badge variant="light" color={COLORS[status]}>
      {status}
    </Badge>
  );
}
