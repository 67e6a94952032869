import { notifications } from "@mantine/notifications";

/** A short confirmation; its close button is named (Mantine leaves it unnamed). */
export function notifyDone(message: string): void {
  notifications.show({ color: "green", message, closeButtonProps: { "aria-label": "Dismiss" } });
}
