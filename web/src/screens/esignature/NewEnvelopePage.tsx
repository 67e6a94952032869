import { Anchor, Button, Group, NumberInput, Paper, Select, Stack, Textarea, TextInput, Title } from "@mantine/core";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, useNavigate } from "@tanstack/react-router";

import { DocumentPicker, type PickedDocument } from "./DocumentPicker";
import { keys, providersQuery } from "./queries";
import { RecipientsEditor, blankRecipient, type RecipientDraft } from "./RecipientsEditor";
import { PROVIDER_LABELS } from "./status";
import { api, data } from "@/api/client";
import { ClientPicker } from "@/components/ClientPicker";
import { PageHeader } from "@/components/PageHeader";
import { ProblemAlert } from "@/components/ProblemAlert";
import { useApiForm } from "@/components/useApiForm";

interface Values extends Record<string, unknown> {
  title: string;
  message: string;
  client_id: string | null;
  provider: string;
  documents: PickedDocument[];
  recipients: RecipientDraft[];
  expiry_days: number;
  reminder_first_days: number;
  reminder_every_days: number;
  reminder_max: number;
}

export function NewEnvelopePage() {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const sendable = useQuery(providersQuery);
  const { form, error, unplaced, submit, submitting } = useApiForm<Values>({
    initialValues: {
      title: "",
      message: "",
      client_id: null,
      provider: "builtin",
      documents: [],
      recipients: [blankRecipient([])],
      expiry_days: 30,
      reminder_first_days: 2,
      reminder_every_days: 3,
      reminder_max: 5,
    },
  });
  const values = form.getValues();
  const providers = sendable.data?.items.map((item) => item.provider) ?? ["builtin"];

  const create = submit(async ({ documents, ...envelope }) => {
    const created = data(
      await api.POST("/v1/envelopes", {
        body: {
          ...envelope,
          title: envelope.title.trim(),
          provider: envelope.provider as "builtin",
          document_ids: documents.map((document) => document.id),
          recipients: envelope.recipients.map((recipient) => ({ ...recipient, role: recipient.role as "signer" })),
        },
      }),
    );
    await queryClient.invalidateQueries({ queryKey: keys.all });
    await navigate({ to: "/envelopes/$envelopeId/edit", params: { envelopeId: created.id } });
  });

  return (
    <>
      <Anchor component={Link} to="/envelopes" size="sm">
        ← Envelopes
      </Anchor>
      <PageHeader title="New envelope" description="The documents, who signs in what order, and when it expires. Fields are placed next." />
      <form onSubmit={create} noValidate>
        <Stack gap="md" maw={980}>
          <Paper withBorder p="sm" component="section" aria-labelledby="envelope-details">
            <Title order={2} size="h4" id="envelope-details" mb="xs">
              Details
            </Title>
            <Stack gap="xs">
              <TextInput label="Title" required maxLength={200} {...form.getInputProps("title")} />
              <Textarea label="Message to the recipients" autosize minRows={2} {...form.getInputProps("message")} />
              <Group grow align="flex-start">
                <ClientPicker
                  label="Client"
                  description="Optional: the envelope is listed with the client"
                  clearable
                  value={values.client_id}
                  onChange={(clientId) => form.setFieldValue("client_id", clientId)}
                  error={form.errors.client_id}
                />
                <Select
                  label="Provider"
                  description="Others appear once connected in the e-signature settings"
                  data={providers.map((provider) => ({ value: provider, label: PROVIDER_LABELS[provider] ?? provider }))}
                  allowDeselect={false}
                  {...form.getInputProps("provider")}
                />
              </Group>
            </Stack>
          </Paper>
          <DocumentPicker
            value={values.documents}
            onChange={(documents) => form.setFieldValue("documents", documents)}
          />
          <RecipientsEditor
            recipients={values.recipients}
            onChange={(recipients) => form.setFieldValue("recipients", recipients)}
            errors={form.errors}
          />
          <Paper withBorder p="sm" component="section" aria-labelledby="envelope-timing">
            <Title order={2} size="h4" id="envelope-timing" mb="xs">
              Expiry and reminders
            </Title>
            <Group grow align="flex-start">
              <NumberInput label="Expires after (days)" min={1} max={120} allowDecimal={false} {...form.getInputProps("expiry_days")} />
              <NumberInput label="First reminder after (days)" min={1} max={60} allowDecimal={false} {...form.getInputProps("reminder_first_days")} />
              <NumberInput label="Then every (days)" min={1} max={60} allowDecimal={false} {...form.getInputProps("reminder_every_days")} />
              <NumberInput label="At most (reminders)" min={0} max={20} allowDecimal={false} {...form.getInputProps("reminder_max")} />
            </Group>
          </Paper>
          <ProblemAlert error={error} unplaced={unplaced} />
          <Group>
            <Button type="submit" loading={submitting}>
              Create and place fields
            </Button>
          </Group>
        </Stack>
      </form>
    </>
  );
}
