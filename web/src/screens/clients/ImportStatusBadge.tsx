import { SoftBadge } from "./SoftBadge";
import type { ClientImport } from "./queries";

const COLORS: Record<ClientImport["status"], string> = {
  pending: "gray",
  running: "blue",
  completed: "green",
  failed: "red",
};

export function ImportStatusBadge({ status }: { status: ClientImport["status"] }) {
  return (
    <SoftBadge color={COLORS[status]}>
      {status}
    </SoftBadge>
  );
}
