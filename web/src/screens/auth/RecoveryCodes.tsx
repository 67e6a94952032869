import { Alert, Button, CopyButton, Group, List, Paper, Stack, Title } from "@mantine/core";
import type { ReactNode } from "react";

import { downloadText } from "@/lib/format";
import { READABLE_ALERT } from "./readable";

interface Props {
  codes: string[];
  /** What the member does once the codes are saved (continue, close). */
  children?: ReactNode;
}

/** Recovery codes, shown this once: each signs in once in place of a code from the app. */
export function RecoveryCodes({ codes, children }: Props) {
  const text = codes.join("\n") + "\n";
  return (
    <Paper withBorder p="md" radius="md" component="section" aria-labelledby="recovery-codes">
      <Stack>
        <Title order={2} size="h4" id="recovery-codes">
          Your recovery codes
        </Title>
        <Alert styles={READABLE_ALERT} color="yellow" title="Save these codes now" role="status">
          They are shown only this once. If you lose your phone, each code signs you in once instead of a code
          from the app.
        </Alert>
        <List data-testid="recovery-codes" ff="monospace" listStyleType="none" spacing={2}>
          {codes.map((code) => (
            <List.Item key={code}>{code}</List.Item>
          ))}
        </List>
        <Group>
          <CopyButton value={text}>
            {({ copied, copy }) => (
              <Button variant="default" onClick={copy}>
                {copied ? "Copied" : "Copy codes"}
              </Button>
            )}
          </CopyButton>
          <Button variant="default" onClick={() => downloadText("firmflow-recovery-codes.txt", text, "text/plain")}>
            Download as text
          </Button>
        </Group>
        {children}
      </Stack>
    </Paper>
  );
}
