import { Button, Paper, Stack, Text, Title } from "@mantine/core";
import { useQueryClient } from "@tanstack/react-query";
import { useLocation, useNavigate } from "@tanstack/react-router";

import { api, data } from "@/api/client";
import { meQuery } from "@/app/session";
import { ProblemAlert } from "@/components/ProblemAlert";
import { useApiForm } from "@/components/useApiForm";
import { tokenFromFragment } from "./authFlow";
import { LinkTokenMissing } from "./LinkTokenMissing";
import { NewPasswordFields, newPasswordValidation, type NewPasswordValues } from "./NewPasswordFields";

export function AcceptInvitationPage() {
  const token = tokenFromFragment(useLocation({ select: (location) => location.hash }));
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const { form, error, unplaced, submit, submitting } = useApiForm<NewPasswordValues>({
    initialValues: { password: "", confirmation: "" },
    validate: newPasswordValidation,
  });

  // Accepting signs in (the API sets the session cookie): straight on to the dashboard.
  const onSubmit = submit(async ({ password }) => {
    data(await api.POST("/v1/auth/accept-invitation", { body: { token: token ?? "", password } }));
    await queryClient.fetchQuery({ ...meQuery, staleTime: 0 });
    await navigate({ to: "/" });
  });

  return (
    <Paper withBorder p="xl" radius="md" maw={460} mx="auto">
      <Title order={1} size="h2" mb="md">
        Join your firm on firmflow
      </Title>
      {token === null ? (
        <LinkTokenMissing>
          Open the link exactly as the invitation email shows it, or ask whoever invited you to send a new
          invitation.
        </LinkTokenMissing>
      ) : (
        <form onSubmit={onSubmit} noValidate>
          <Stack>
            <Text size="sm">
              Choose the password you will sign in with. The invitation link works once; if it has expired, ask
              whoever invited you to send a new one.
            </Text>
            <ProblemAlert error={error} unplaced={unplaced} />
            <NewPasswordFields form={form} label="Password" />
            <Button type="submit" loading={submitting} w="fit-content">
              Accept and sign in
            </Button>
          </Stack>
        </form>
      )}
    </Paper>
  );
}
