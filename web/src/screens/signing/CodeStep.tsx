import { Button, Card, Group, Stack, Text, TextInput, Title } from "@mantine/core";
import { useMutation } from "@tanstack/react-query";
import { useState } from "react";

import { signingApi } from "./signingApi";
import type { SigningView } from "./types";
import { ProblemAlert } from "@/components/ProblemAlert";
import { useApiForm } from "@/components/useApiForm";

interface Props {
  view: SigningView;
  recipientId: string;
  token: string;
  onDone: () => Promise<unknown>;
}

/** The one-time code the sender asked for: emailed to the recipient, typed back here. */
export function CodeStep({ view, recipientId, token, onDone }: Props) {
  const [sent, setSent] = useState(false);
  const send = useMutation({ mutationFn: () => signingApi.sendCode(recipientId, token), onSuccess: () => setSent(true) });
  const { form, error, unplaced, submit, submitting } = useApiForm({
    initialValues: { code: "" },
    validate: { code: (value: string) => (/^\d{6}$/.test(value.trim()) ? null : "Enter the 6 digits of the code.") },
  });

  return (
    <Card withBorder padding="lg" component="section" aria-labelledby="code-title">
      <Stack gap="md">
        <Title order={2} size="h4" id="code-title">
          Confirm it is you
        </Title>
        <Text size="sm">
          The sender asked us to check your email address before you see the documents: we email a 6-digit code to{" "}
          <strong>{view.recipient.email}</strong>.
        </Text>
        <ProblemAlert error={send.error} />
        <Group>
          <Button variant={sent ? "default" : "filled"} loading={send.isPending} onClick={() => send.mutate()}>
            {sent ? "Send a new code" : "Send me a code"}
          </Button>
          {sent && (
            <Text size="sm" c="gray.7" role="status">
              Code sent. Check your inbox (and its spam folder).
            </Text>
          )}
        </Group>
        <form
          onSubmit={submit(async ({ code }) => {
            await signingApi.verifyCode(recipientId, token, code.trim());
            await onDone();
          })}
        >
          <Stack gap="sm">
            <TextInput
              label="6-digit code"
              inputMode="numeric"
              autoComplete="one-time-code"
              maxLength={6}
              w={200}
              {...form.getInputProps("code")}
            />
            <ProblemAlert error={error} unplaced={unplaced} />
            <Group>
              <Button type="submit" loading={submitting}>
                Continue
              </Button>
            </Group>
          </Stack>
        </form>
      </Stack>
    </Card>
  );
}
