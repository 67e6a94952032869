import { Button, Paper, PasswordInput, Stack } from "@mantine/core";
import { notifications } from "@mantine/notifications";

import { api, data } from "@/api/client";
import { PageHeader } from "@/components/PageHeader";
import { ProblemAlert } from "@/components/ProblemAlert";
import { useApiForm } from "@/components/useApiForm";
import { confirmationError } from "./authFlow";

interface Values extends Record<string, unknown> {
  current_password: string;
  new_password: string;
  confirmation: string;
}

export function PasswordPage() {
  // Field names follow the API's, so its errors (/current_password, /new_password) land on them.
  const { form, error, unplaced, submit, submitting } = useApiForm<Values>({
    initialValues: { current_password: "", new_password: "", confirmation: "" },
    validate: { confirmation: (value, values) => confirmationError(values.new_password, value) },
  });

  const onSubmit = submit(async ({ current_password, new_password }) => {
    data(await api.POST("/v1/auth/password", { body: { current_password, new_password } }));
    form.reset();
    notifications.show({
      color: "green",
      title: "Password changed",
      message: "Every other browser signed in as you has been signed out; this one stays signed in.",
    });
  });

  return (
    <Stack maw={560}>
      <PageHeader
        title="Change your password"
        description="Changing it signs you out everywhere else; this browser stays signed in."
      />
      <Paper withBorder p="md" radius="md">
        <form onSubmit={onSubmit} noValidate>
          <Stack>
            <ProblemAlert error={error} unplaced={unplaced} />
            <PasswordInput
              label="Current password"
              autoComplete="current-password"
              required
              {...form.getInputProps("current_password")}
            />
            <PasswordInput
              label="New password"
              description="At least 12 characters; a few unrelated words make a good one."
              autoComplete="new-password"
              required
              {...form.getInputProps("new_password")}
            />
            <PasswordInput
              label="Repeat the new password"
              autoComplete="new-password"
              required
              {...form.getInputProps("confirmation")}
            />
            <Button type="submit" loading={submitting} w="fit-content">
              Change password
            </Button>
          </Stack>
        </form>
      </Paper>
    </Stack>
  );
}
