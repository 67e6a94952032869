import { Alert, Anchor, Button, Divider, Group, Paper, PasswordInput, Stack, Text, TextInput, Title } from "@mantine/core";
import { useQueryClient } from "@tanstack/react-query";
import { Link, useNavigate } from "@tanstack/react-router";
import { useState } from "react";

import { api, data } from "@/api/client";
import { ApiProblem, problemOf } from "@/api/problem";
import type { components } from "@/api/schema";
import { meQuery, safeNext } from "@/app/session";
import { ProblemAlert } from "@/components/ProblemAlert";
import { useApiForm } from "@/components/useApiForm";
import { asksForFirm, nextStep, normaliseSlug, type NextStep } from "./authFlow";
import { CodeField, EnrolmentPanel } from "./EnrolmentPanel";
import { RecoveryCodes } from "./RecoveryCodes";
import { signInRoute } from "./routes";
import { READABLE_ALERT } from "./readable";

type Enrolment = components["schemas"]["EnrollmentRead"];
type Step = NextStep | { kind: "password" } | { kind: "recovery-codes"; codes: string[] };

export function SignInPage() {
  const { next, notice } = signInRoute.useSearch();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [step, setStep] = useState<Step>({ kind: "password" });

  const enter = async () => {
    // The cached "nobody is signed in" must not send the app straight back here.
    await queryClient.fetchQuery({ ...meQuery, staleTime: 0 });
    await navigate({ to: safeNext(next) });
  };
  const advance = async (to: NextStep) => {
    if (to.kind === "signed-in") await enter();
    else setStep(to);
  };
  const restart = () => setStep({ kind: "password" });

  return (
    <Paper withBorder p="xl" radius="md" maw={460} mx="auto">
      <Title order={1} size="h2" mb="md">
        Sign in
      </Title>
      {notice === "password-reset" && step.kind === "password" && (
        <Alert styles={READABLE_ALERT} color="green" title="Password changed" role="status" mb="md">
          Your new password is set and every earlier sign-in has ended. Sign in with the new password.
        </Alert>
      )}
      {step.kind === "password" && (
        <>
          <PasswordStep onAnswer={advance} />
          <Divider
            label={
              <Text span size="sm" c="gray.7">
                or
              </Text>
            }
            labelPosition="center"
            my="lg"
          />
          <SsoSignIn />
        </>
      )}
      {step.kind === "code" && <CodeStep mfaToken={step.mfaToken} onSignedIn={enter} onRestart={restart} />}
      {step.kind === "enrol" && (
        <EnrolStep
          enrollmentToken={step.enrollmentToken}
          onEnrolled={(codes) => setStep({ kind: "recovery-codes", codes })}
          onRestart={restart}
        />
      )}
      {step.kind === "recovery-codes" && (
        <RecoveryCodes codes={step.codes}>
          <Button onClick={enter} w="fit-content">
            I have saved them — continue
          </Button>
        </RecoveryCodes>
      )}
    </Paper>
  );
}

interface PasswordValues extends Record<string, unknown> {
  email: string;
  password: string;
  firm_slug: string;
}

function PasswordStep({ onAnswer }: { onAnswer: (step: NextStep) => Promise<void> }) {
  // Shown only once the API says the address signs in to several firms.
  const [askFirm, setAskFirm] = useState(false);
  const { form, error, unplaced, submit, submitting } = useApiForm<PasswordValues>({
    initialValues: { email: "", password: "", firm_slug: "" },
  });

  const onSubmit = submit(async ({ email, password, firm_slug }) => {
    const slug = normaliseSlug(firm_slug);
    try {
      const answer = data(
        await api.POST("/v1/auth/login", {
          body: { email, password, ...(askFirm && slug ? { firm_slug: slug } : {}) },
        }),
      );
      await onAnswer(nextStep(answer));
    } catch (caught) {
      if (asksForFirm(caught)) setAskFirm(true);
      throw caught;
    }
  });

  return (
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
        {askFirm && (
          <TextInput
            label="Firm"
            description="This email address belongs to several firms: enter the short name (slug) of the one you want, as in its sign-in links."
            placeholder="acme-llp"
            autoCapitalize="none"
            required
            autoFocus
            {...form.getInputProps("firm_slug")}
          />
        )}
        <Group justify="space-between">
          <Button type="submit" loading={submitting}>
            Sign in
          </Button>
          <Anchor component={Link} to="/forgot-password" size="sm">
            Forgot password?
          </Anchor>
        </Group>
      </Stack>
    </form>
  );
}

interface CodeValues extends Record<string, unknown> {
  code: string;
  recovery_code: string;
}

function CodeStep({
  mfaToken,
  onSignedIn,
  onRestart,
}: {
  mfaToken: string;
  onSignedIn: () => Promise<void>;
  onRestart: () => void;
}) {
  const [recovery, setRecovery] = useState(false);
  const { form, error, unplaced, submit, submitting } = useApiForm<CodeValues>({
    initialValues: { code: "", recovery_code: "" },
  });

  const onSubmit = submit(async ({ code, recovery_code }) => {
    const body = recovery
      ? { mfa_token: mfaToken, recovery_code: recovery_code.trim() }
      : { mfa_token: mfaToken, code: code.trim() };
    data(await api.POST("/v1/auth/login/mfa", { body }));
    await onSignedIn();
  });

  return (
    <form onSubmit={onSubmit} noValidate>
      <Stack>
        <Text size="sm">
          {recovery
            ? "Enter one of the recovery codes you saved when you set up two-factor. Each works once."
            : "Enter the 6-digit code your authenticator app shows for firmflow."}
        </Text>
        <ProblemAlert error={error} unplaced={unplaced} />
        {recovery ? (
          <TextInput
            label="Recovery code"
            autoComplete="off"
            autoCapitalize="none"
            required
            autoFocus
            {...form.getInputProps("recovery_code")}
          />
        ) : (
          <CodeField autoFocus {...form.getInputProps("code")} />
        )}
        <Group justify="space-between">
          <Button type="submit" loading={submitting}>
            Verify
          </Button>
          <Anchor component="button" type="button" size="sm" onClick={() => setRecovery(!recovery)}>
            {recovery ? "Use a code from the app instead" : "Use a recovery code instead"}
          </Anchor>
        </Group>
        <Anchor component="button" type="button" size="sm" onClick={onRestart} w="fit-content">
          Start again with your password
        </Anchor>
      </Stack>
    </form>
  );
}

function EnrolStep({
  enrollmentToken,
  onEnrolled,
  onRestart,
}: {
  enrollmentToken: string;
  onEnrolled: (codes: string[]) => void;
  onRestart: () => void;
}) {
  const [enrolment, setEnrolment] = useState<Enrolment | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [starting, setStarting] = useState(false);

  const start = async () => {
    setError(null);
    setStarting(true);
    try {
      setEnrolment(
        data(await api.POST("/v1/auth/login/enrollment", { body: { enrollment_token: enrollmentToken } })),
      );
    } catch (caught) {
      setError(caught);
    } finally {
      setStarting(false);
    }
  };
  const confirm = async (code: string) => {
    const session = data(
      await api.POST("/v1/auth/login/enrollment/confirm", {
        body: { enrollment_token: enrollmentToken, code },
      }),
    );
    onEnrolled(session.recovery_codes);
  };

  return (
    <Stack>
      <Alert styles={READABLE_ALERT} color="blue" title="Your firm requires two-factor sign-in" role="status">
        Your password is right. Before you continue, set up an authenticator app on your phone: from now on you
        sign in with your password and a code from the app.
      </Alert>
      <ProblemAlert error={error} />
      {enrolment ? (
        <EnrolmentPanel enrolment={enrolment} onConfirm={confirm} />
      ) : (
        <Button onClick={start} loading={starting} w="fit-content">
          Set up two-factor
        </Button>
      )}
      <Anchor component="button" type="button" size="sm" onClick={onRestart} w="fit-content">
        Start again with your password
      </Anchor>
    </Stack>
  );
}

function SsoSignIn() {
  const [open, setOpen] = useState(false);
  const { form, error, unplaced, submit, submitting } = useApiForm({ initialValues: { firm_slug: "" } });

  // Asked first without following the redirect: a firm without SSO answers a problem, shown
  // here, instead of leaving the app for a bare error page.
  const onSubmit = submit(async ({ firm_slug }) => {
    const url = `/v1/sso/${encodeURIComponent(normaliseSlug(firm_slug))}/login`;
    const probe = await fetch(url, { redirect: "manual", credentials: "same-origin" });
    if (probe.type === "opaqueredirect" || (probe.status >= 300 && probe.status < 400)) {
      window.location.assign(url);
      return;
    }
    const body: unknown = await probe.json().catch(() => null);
    throw new ApiProblem(problemOf(probe.status, body, url));
  });

  if (!open) {
    return (
      // Not "Sign in with SSO": the password form's button must stay the only "Sign in".
      <Button variant="default" fullWidth onClick={() => setOpen(true)}>
        Use single sign-on (SSO)
      </Button>
    );
  }
  return (
    <form onSubmit={onSubmit} noValidate>
      <Stack>
        <ProblemAlert error={error} unplaced={unplaced} />
        <TextInput
          label="Firm"
          description="The short name (slug) of your firm; your identity provider signs you in."
          placeholder="acme-llp"
          autoCapitalize="none"
          required
          autoFocus
          {...form.getInputProps("firm_slug")}
        />
        <Button type="submit" variant="default" loading={submitting} w="fit-content">
          Continue with SSO
        </Button>
      </Stack>
    </form>
  );
}
