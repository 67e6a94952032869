import { Button, Code, CopyButton, Group, Stack, Text, TextInput } from "@mantine/core";

import type { components } from "@/api/schema";
import { ProblemAlert } from "@/components/ProblemAlert";
import { useApiForm } from "@/components/useApiForm";
import { groupSecret } from "./authFlow";
import { QrCode } from "./QrCode";

type Enrolment = components["schemas"]["EnrollmentRead"];

interface Props {
  enrolment: Enrolment;
  /** Sends the first code; the API answers with the recovery codes. */
  onConfirm: (code: string) => Promise<unknown>;
}

/** Setting up an authenticator app: the QR code, the secret to type instead, then a code. */
export function EnrolmentPanel({ enrolment, onConfirm }: Props) {
  const { form, error, unplaced, submit, submitting } = useApiForm({ initialValues: { code: "" } });

  return (
    <Stack>
      <Text size="sm">
        Scan this QR code with your authenticator app (Google Authenticator, 1Password, Authy…), then enter
        the 6-digit code it shows.
      </Text>
      <QrCode value={enrolment.otpauth_uri} alt="QR code to add firmflow to your authenticator app" />
      <Stack gap={4}>
        <Text size="sm">Cannot scan? Type this secret into the app instead:</Text>
        <Group gap="xs">
          <Code fz="md" data-testid="totp-secret">
            {groupSecret(enrolment.secret)}
          </Code>
          <CopyButton value={enrolment.secret}>
            {({ copied, copy }) => (
              <Button size="compact-sm" variant="default" onClick={copy}>
                {copied ? "Copied" : "Copy secret"}
              </Button>
            )}
          </CopyButton>
        </Group>
      </Stack>
      <form onSubmit={submit((values) => onConfirm(values.code.trim()))} noValidate>
        <Stack>
          <ProblemAlert error={error} unplaced={unplaced} />
          <CodeField {...form.getInputProps("code")} />
          <Button type="submit" loading={submitting} w="fit-content">
            Turn on two-factor
          </Button>
        </Stack>
      </form>
    </Stack>
  );
}

/** The 6-digit code an authenticator app shows. */
export function CodeField(props: React.ComponentProps<typeof TextInput>) {
  return (
    <TextInput
      label="6-digit code"
      inputMode="numeric"
      autoComplete="one-time-code"
      maxLength={6}
      required
      maw={200}
      {...props}
    />
  );
}
