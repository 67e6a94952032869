import { Alert, Anchor, Button, Paper, Stack, Text, TextInput, Title } from "@mantine/core";
import { Link } from "@tanstack/react-router";
import { useState } from "react";

import { api, data } from "@/api/client";
import { ProblemAlert } from "@/components/ProblemAlert";
import { useApiForm } from "@/components/useApiForm";
import { READABLE_ALERT } from "./readable";

export function ForgotPasswordPage() {
  const [sentTo, setSentTo] = useState<string | null>(null);
  const { form, error, unplaced, submit, submitting } = useApiForm({ initialValues: { email: "" } });

  const onSubmit = submit(async ({ email }) => {
    data(await api.POST("/v1/auth/password-reset", { body: { email } }));
    setSentTo(email);
  });

  return (
    <Paper withBorder p="xl" radius="md" maw={460} mx="auto">
      <Title order={1} size="h2" mb="md">
        Reset your password
      </Title>
      {sentTo ? (
        <Stack>
          {/* The same answer whether or not the address is known, so it reveals nothing. */}
          <Alert styles={READABLE_ALERT} color="green" title="Check your email" role="status">
            If {sentTo} belongs to a firmflow account, an email with a link to choose a new password is on its
            way. The link works for 30 minutes.
          </Alert>
          <Anchor component={Link} to="/sign-in">
            Back to sign in
          </Anchor>
        </Stack>
      ) : (
        <form onSubmit={onSubmit} noValidate>
          <Stack>
            <Text size="sm">Enter the email address you sign in with; we send you a link to choose a new password.</Text>
            <ProblemAlert error={error} unplaced={unplaced} />
            <TextInput label="Email" type="email" autoComplete="email" required {...form.getInputProps("email")} />
            <Button type="submit" loading={submitting} w="fit-content">
              Email me a link
            </Button>
            <Anchor component={Link} to="/sign-in" size="sm">
              Back to sign in
            </Anchor>
          </Stack>
        </form>
      )}
    </Paper>
  );
}
