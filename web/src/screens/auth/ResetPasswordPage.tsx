import { Anchor, Button, Paper, Stack, Title } from "@mantine/core";
import { Link, useLocation, useNavigate } from "@tanstack/react-router";

import { api, data } from "@/api/client";
import { ApiProblem } from "@/api/problem";
import { ProblemAlert } from "@/components/ProblemAlert";
import { useApiForm } from "@/components/useApiForm";
import { tokenFromFragment } from "./authFlow";
import { LinkTokenMissing } from "./LinkTokenMissing";
import { NewPasswordFields, newPasswordValidation, type NewPasswordValues } from "./NewPasswordFields";

export function ResetPasswordPage() {
  const token = tokenFromFragment(useLocation({ select: (location) => location.hash }));
  const navigate = useNavigate();
  const { form, error, unplaced, submit, submitting } = useApiForm<NewPasswordValues>({
    initialValues: { password: "", confirmation: "" },
    validate: newPasswordValidation,
  });

  const onSubmit = submit(async ({ password }) => {
    data(await api.POST("/v1/auth/password-reset/confirm", { body: { token: token ?? "", password } }));
    await navigate({ to: "/sign-in", search: { notice: "password-reset" } });
  });
  // An unknown, used or expired link cannot work again: the way out is a new one.
  const linkSpent = error instanceof ApiProblem && (error.status === 404 || error.status === 409);

  return (
    <Paper withBorder p="xl" radius="md" maw={460} mx="auto">
      <Title order={1} size="h2" mb="md">
        Choose a new password
      </Title>
      {token === null ? (
        <Stack>
          <LinkTokenMissing>
            Open the link exactly as the email shows it, or ask for a new email.
          </LinkTokenMissing>
          <RequestNewLink />
        </Stack>
      ) : (
        <form onSubmit={onSubmit} noValidate>
          <Stack>
            <ProblemAlert error={error} unplaced={unplaced} />
            {linkSpent && <RequestNewLink />}
            <NewPasswordFields form={form} />
            <Button type="submit" loading={submitting} w="fit-content">
              Set the new password
            </Button>
          </Stack>
        </form>
      )}
    </Paper>
  );
}

function RequestNewLink() {
  return (
    <Anchor component={Link} to="/forgot-password">
      Request a new reset link
    </Anchor>
  );
}
