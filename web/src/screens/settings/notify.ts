import { notifications } from "@mantine/notifications";

/** A notification whose close button has a name (Mantine's has none; axe counts that as serious). */
export function notify(message: string, color?: string): void {
  notifications.show({ message, color, closeButtonProps: { "aria-label": "Dismiss" } });
}
