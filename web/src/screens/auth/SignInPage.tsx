import { Button, Paper, PasswordInput, Stack, TextInput, Title } from "@mantine/core";
import { useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";

import { api, data } from "@/api/client";
import { meQuery, safeNext } from "@/app/session";
import { ProblemAlert } from "@/components/ProblemAlert";
import { useApiForm } from "@/components/useApiForm";
import { signInRoute } from "./routes";

export function SignInPage() {
  const { next } = signInRoute.useSearch();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const { form, error, unplaced, submit, submitting } = useApiForm({
    initialValues: { email: "", password: "" },
  });

  const onSubmit = submit(async (values) => {
    data(await api.POST("/v1/auth/login", { body: values }));
    await queryClient.invalidateQueries({ queryKey: meQuery.queryKey });
    await navigate({ to: safeNext(next) });
  });

  return (
    <Paper withBorder p="xl" radius="md" maw={420} mx="auto">
      <Title order={1} size="h2" mb="md">
        Sign in
      </Title>
      <form onSubmit={onSubmit} noValidate>
        <Stack>
          <ProblemAlert error={error} unplaced={unplaced} />
          <TextInput label="Email" type="email" autoComplete="username" required {...form.getInputProps("email")} />
          <PasswordInput
            label="Password"
            autoComplete="current-password"
            required
            {...form.getInputProps("password")}
          />
          <Button type="submit" loading={submitting}>
            Sign in
          </Button>
        </Stack>
      </form>
    </Paper>
  );
}
