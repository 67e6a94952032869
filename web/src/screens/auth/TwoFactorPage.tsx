import { Anchor, Badge, Button, Group, Loader, Paper, Stack, Text, TextInput, Title } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { Link } from "@tanstack/react-router";
import { useState, type ReactNode } from "react";

import { api, data } from "@/api/client";
import type { components } from "@/api/schema";
import { ConfirmAction } from "@/components/ConfirmAction";
import { PageHeader } from "@/components/PageHeader";
import { ProblemAlert } from "@/components/ProblemAlert";
import { CodeField, EnrolmentPanel } from "./EnrolmentPanel";
import { RecoveryCodes } from "./RecoveryCodes";

type Status = components["schemas"]["TwoFactorStatusRead"];
type Enrolment = components["schemas"]["EnrollmentRead"];

const TWO_FACTOR = ["two-factor"] as const;

export function TwoFactorPage() {
  const status = useQuery({
    queryKey: TWO_FACTOR,
    queryFn: async () => data(await api.GET("/v1/auth/two-factor")),
  });
  // New recovery codes exist only in the answer that made them: shown until dismissed.
  const [codes, setCodes] = useState<string[] | null>(null);

  return (
    <Stack maw={720}>
      <PageHeader
        title="Two-factor sign-in"
        description="After your password, firmflow asks for a code from an authenticator app on your phone, so a stolen password alone cannot sign in."
        actions={
          <Anchor component={Link} to="/account/password" size="sm">
            Change your password
          </Anchor>
        }
      />
      <ProblemAlert error={status.error} />
      {status.isPending && <Loader size="sm" aria-label="Loading" />}
      {codes && (
        <RecoveryCodes codes={codes}>
          <Button onClick={() => setCodes(null)} w="fit-content">
            I have saved them
          </Button>
        </RecoveryCodes>
      )}
      {status.data && <StatusSection status={status.data} />}
      {status.data &&
        (status.data.enabled ? (
          <>
            <RecoveryCodesSection status={status.data} onCodes={setCodes} />
            <DisableSection status={status.data} />
          </>
        ) : (
          <SetUpSection onCodes={setCodes} />
        ))}
    </Stack>
  );
}

function Section({ id, title, children }: { id: string; title: string; children: ReactNode }) {
  return (
    <Paper withBorder p="md" radius="md" component="section" aria-labelledby={id}>
      <Title order={2} size="h4" id={id} mb="sm">
        {title}
      </Title>
      {children}
    </Paper>
  );
}

function StatusSection({ status }: { status: Status }) {
  return (
    <Section id="two-factor-status" title="Status">
      <Stack gap="xs">
        <Group gap="xs">
          <Text>Two-factor sign-in is</Text>
          <Badge color={status.enabled ? "green" : "gray"} variant="light" data-testid="two-factor-state">
            {status.enabled ? "On" : "Off"}
          </Badge>
        </Group>
        {status.required_by_firm && (
          <Text size="sm">Your firm requires two-factor sign-in of everyone.</Text>
        )}
        {status.enabled && (
          <Text size="sm">
            {status.recovery_codes_remaining} unused recovery code{status.recovery_codes_remaining === 1 ? "" : "s"}{" "}
            left.
          </Text>
        )}
      </Stack>
    </Section>
  );
}

function SetUpSection({ onCodes }: { onCodes: (codes: string[]) => void }) {
  const queryClient = useQueryClient();
  const [enrolment, setEnrolment] = useState<Enrolment | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [starting, setStarting] = useState(false);

  // Starting again before confirming replaces the pending secret, so this is asked on demand.
  const start = async () => {
    setError(null);
    setStarting(true);
    try {
      setEnrolment(data(await api.POST("/v1/auth/two-factor/enrollment")));
    } catch (caught) {
      setError(caught);
    } finally {
      setStarting(false);
    }
  };
  const confirm = async (code: string) => {
    const answer = data(await api.POST("/v1/auth/two-factor/enrollment/confirm", { body: { code } }));
    onCodes(answer.recovery_codes);
    setEnrolment(null);
    notifications.show({ color: "green", message: "Two-factor sign-in is on." });
    await queryClient.invalidateQueries({ queryKey: TWO_FACTOR });
  };

  return (
    <Section id="two-factor-set-up" title="Set up two-factor">
      <Stack>
        <ProblemAlert error={error} />
        {enrolment ? (
          <EnrolmentPanel enrolment={enrolment} onConfirm={confirm} />
        ) : (
          <Button onClick={start} loading={starting} w="fit-content">
            Set up two-factor
          </Button>
        )}
      </Stack>
    </Section>
  );
}

function RecoveryCodesSection({ status, onCodes }: { status: Status; onCodes: (codes: string[]) => void }) {
  const queryClient = useQueryClient();
  const [code, setCode] = useState("");

  const regenerate = async () => {
    const answer = data(await api.POST("/v1/auth/two-factor/recovery-codes", { body: { code: code.trim() } }));
    setCode("");
    onCodes(answer.recovery_codes);
    await queryClient.invalidateQueries({ queryKey: TWO_FACTOR });
  };

  return (
    <Section id="two-factor-recovery" title="Recovery codes">
      <Stack align="flex-start">
        <Text size="sm">
          Each recovery code signs you in once when your phone is not at hand. You have{" "}
          {status.recovery_codes_remaining} left; make a new set when they run low or may have been seen.
        </Text>
        <ConfirmAction
          label="Make new recovery codes"
          title="Make new recovery codes?"
          confirmColor="indigo"
          consequence="Your current recovery codes stop working at once, and ten new ones are shown once. Enter a code from your authenticator app to confirm."
          onConfirm={regenerate}
        >
          <CodeField value={code} onChange={(event) => setCode(event.currentTarget.value)} />
        </ConfirmAction>
      </Stack>
    </Section>
  );
}

function DisableSection({ status }: { status: Status }) {
  const queryClient = useQueryClient();
  const [code, setCode] = useState("");

  // One field for either kind of code: six digits are the app's, anything else a recovery code.
  const disable = async () => {
    const given = code.trim();
    const body = /^\d{6}$/.test(given) ? { code: given } : { recovery_code: given };
    data(await api.POST("/v1/auth/two-factor/disable", { body }));
    setCode("");
    notifications.show({ color: "green", message: "Two-factor sign-in is off." });
    await queryClient.invalidateQueries({ queryKey: TWO_FACTOR });
  };

  return (
    <Section id="two-factor-disable" title="Turn off two-factor">
      {status.required_by_firm ? (
        <Text size="sm">
          Your firm requires two-factor sign-in, so it cannot be turned off. Lost your phone? Sign in with a
          recovery code, then set up the new phone here.
        </Text>
      ) : (
        <Stack align="flex-start">
          <Text size="sm">Signing in will ask for your password only.</Text>
          <ConfirmAction
            label="Turn off two-factor"
            title="Turn off two-factor sign-in?"
            consequence="From now on your password alone signs you in, and your recovery codes stop working. Enter a code from your authenticator app, or a recovery code, to confirm."
            onConfirm={disable}
          >
            <TextInput
              label="Code from the app or recovery code"
              autoComplete="one-time-code"
              required
              value={code}
              onChange={(event) => setCode(event.currentTarget.value)}
            />
          </ConfirmAction>
        </Stack>
      )}
    </Section>
  );
}
