import { Button, type ButtonProps, Group, Modal, Stack, Text } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { useState, type ReactNode } from "react";

import { ProblemAlert } from "./ProblemAlert";

interface Props extends Omit<ButtonProps, "onClick" | "children"> {
  /** The button's label, which is also the confirming button's. */
  label: string;
  /** The dialog's title. */
  title: string;
  /** What will happen, in words a member understands before saying yes. */
  consequence: ReactNode;
  onConfirm: () => Promise<unknown>;
  /** Extra fields the dialog shows (a reason, an amount). */
  children?: ReactNode;
  confirmColor?: string;
}

/** A destructive or irreversible action: a button, then a dialog that says what happens. */
export function ConfirmAction({
  label,
  title,
  consequence,
  onConfirm,
  children,
  confirmColor = "red",
  ...button
}: Props) {
  const [opened, { open, close }] = useDisclosure(false);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const confirm = async () => {
    setBusy(true);
    setError(null);
    try {
      await onConfirm();
      close();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <Button variant="default" {...button} onClick={open}>
        {label}
      </Button>
      <Modal
        opened={opened}
        onClose={close}
        title={title}
        centered
        closeButtonProps={{ "aria-label": "Close" }}
      >
        <Stack>
          <Text size="sm" component="div">
            {consequence}
          </Text>
          {children}
          <ProblemAlert error={error} />
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              Cancel
            </Button>
            <Button color={confirmColor} onClick={confirm} loading={busy}>
              {label}
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}
