import { Box, Button, Card, Checkbox, Group, Stack, Text, Title } from "@mantine/core";
import { useMutation } from "@tanstack/react-query";
import { useState } from "react";

import { DeclineButton } from "./DeclineButton";
import { signingApi } from "./signingApi";
import type { SigningView } from "./types";
import { ProblemAlert } from "@/components/ProblemAlert";

interface Props {
  view: SigningView;
  recipientId: string;
  token: string;
  onDone: () => Promise<unknown>;
  onDeclined: () => void;
}

/** The ESIGN/UETA disclosure, and the recipient's recorded consent to sign electronically. */
export function ConsentStep({ view, recipientId, token, onDone, onDeclined }: Props) {
  const [agreed, setAgreed] = useState(false);
  const consent = useMutation({ mutationFn: () => signingApi.consent(recipientId, token), onSuccess: onDone });
  return (
    <Card withBorder padding="lg" component="section" aria-labelledby="disclosure-title">
      <Stack gap="md">
        <Title order={2} size="h4" id="disclosure-title">
          Electronic records and signatures
        </Title>
        <Text size="sm">Please read this before you continue; you can keep a copy by printing this page.</Text>
        <Box
          tabIndex={0}
          role="region"
          aria-label="Disclosure about electronic records and signatures"
          data-testid="disclosure"
          p="sm"
          style={{
            maxHeight: 280,
            overflowY: "auto",
            whiteSpace: "pre-wrap",
            border: "1px solid var(--mantine-color-gray-4)",
            borderRadius: 4,
            fontSize: "var(--mantine-font-size-sm)",
          }}
        >
          {view.disclosure}
        </Box>
        <Checkbox
          label="I agree to use electronic records and signatures"
          checked={agreed}
          onChange={(event) => setAgreed(event.currentTarget.checked)}
        />
        <ProblemAlert error={consent.error} />
        <Group justify="space-between">
          {/* With a code to verify, declining waits for it too: the API asks who is declining. */}
          {view.needs_code ? <span /> : <DeclineButton recipientId={recipientId} token={token} firmName={view.firm.name} onDeclined={onDeclined} />}
          <Button disabled={!agreed} loading={consent.isPending} onClick={() => consent.mutate()}>
            Continue
          </Button>
        </Group>
      </Stack>
    </Card>
  );
}
