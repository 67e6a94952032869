import {
  Alert,
  Button,
  Group,
  Loader,
  NumberInput,
  Paper,
  Select,
  SimpleGrid,
  Stack,
  Switch,
  Text,
  Textarea,
  TextInput,
  Title,
} from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { api, data } from "@/api/client";
import { ApiProblem, fieldErrors } from "@/api/problem";
import type { components } from "@/api/schema";
import { useMe } from "@/app/session";
import { PageHeader } from "@/components/PageHeader";
import { ProblemAlert } from "@/components/ProblemAlert";
import { useApiForm, type ApiForm } from "@/components/useApiForm";
import { parseMinor, formatMinor, minorToInput } from "@/lib/money";

type Policy = components["schemas"]["PolicyRead"];
type StepKind = components["schemas"]["StepKind"];

const POLICY = ["dunning-policy"] as const;
const SAMPLE = "sample";

const KINDS: { value: StepKind; label: string }[] = [
  { value: "reminder", label: "Reminder email" },
  { value: "final_notice", label: "Final notice email" },
  { value: "escalation", label: "Escalation (a task for staff, no email)" },
];

interface StepValues {
  key: string;
  kind: StepKind;
  offset_days: number | string;
  subject: string;
  body: string;
}

interface PolicyValues extends Record<string, unknown> {
  enabled: boolean;
  steps: StepValues[];
  late_fee_fixed: string;
  late_fee_percent: string;
  late_fee_step: string | null;
  endless_every_days: number | string;
}

type PolicyForm = ApiForm<PolicyValues>["form"];

function valuesOf(policy: Policy, currency: string): PolicyValues {
  return {
    enabled: policy.enabled,
    steps: policy.steps.map((step) => ({
      key: step.key,
      kind: step.kind ?? "reminder",
      offset_days: step.offset_days,
      subject: step.subject ?? "",
      body: step.body ?? "",
    })),
    late_fee_fixed: minorToInput(policy.late_fee_fixed, currency),
    late_fee_percent: String(Number(policy.late_fee_percent)),
    late_fee_step: policy.late_fee_step,
    endless_every_days: policy.endless_every_days ?? "",
  };
}

export function DunningPolicyPage() {
  const policy = useQuery({
    queryKey: POLICY,
    queryFn: async () => data(await api.GET("/v1/billing/dunning-policy")),
  });
  return (
    <Stack>
      <PageHeader
        title="Dunning policy"
        description="The reminders an unpaid invoice gets, counted in days from its due date, and the late fee. Saving re-plans every open invoice; steps already sent are never sent again."
      />
      <ProblemAlert error={policy.error} />
      {policy.isPending && <Loader aria-label="Loading the dunning policy" />}
      {policy.data && <PolicyEditor key={policy.data.version} policy={policy.data} />}
    </Stack>
  );
}

function PolicyEditor({ policy }: { policy: Policy }) {
  const me = useMe();
  const currency = me.firm.default_currency;
  const queryClient = useQueryClient();
  const [previewInvoice, setPreviewInvoice] = useState<string>(SAMPLE);
  const { form, error, unplaced, submit, submitting } = useApiForm<PolicyValues>({
    initialValues: valuesOf(policy, currency),
  });
  const values = form.getValues();

  const save = submit(async (values) => {
    const fee = parseMinor(values.late_fee_fixed || "0", currency);
    if (fee === null || fee < 0) {
      form.setFieldError("late_fee_fixed", `Give an amount in ${currency}, e.g. 25.00`);
      return;
    }
    const saved = data(
      await api.PUT("/v1/billing/dunning-policy", {
        body: {
          enabled: values.enabled,
          steps: values.steps.map((step) => ({
            key: step.key,
            kind: step.kind,
            offset_days: Number(step.offset_days),
            // An escalation sends no email, so it carries no template.
            subject: step.kind === "escalation" ? null : step.subject,
            body: step.kind === "escalation" ? null : step.body,
          })),
          late_fee_fixed: fee,
          late_fee_percent: values.late_fee_percent || "0",
          late_fee_step: values.late_fee_step || null,
          endless_every_days: values.endless_every_days === "" ? null : Number(values.endless_every_days),
        },
      }),
    );
    queryClient.setQueryData(POLICY, saved);
    notifications.show({ color: "green", message: `Dunning policy saved (version ${saved.version}).` });
  });

  const addStep = () => {
    const last = values.steps.at(-1);
    form.insertListItem("steps", {
      key: `step-${values.steps.length + 1}`,
      kind: "reminder",
      offset_days: last ? Number(last.offset_days) + 7 : 0,
      subject: "Reminder: invoice {{ invoice.number }}",
      body: "Dear {{ client.name }},\n\ninvoice {{ invoice.number }} of {{ invoice.balance }} is open.\n\nPay online: {{ pay_link }}\n",
    } satisfies StepValues);
  };

  return (
    <form onSubmit={save} noValidate>
      <Stack>
        <ProblemAlert error={error} unplaced={unplaced} />
        <Paper withBorder p="md" radius="md" component="section" aria-labelledby="dunning-general">
          <Title order={2} size="h4" id="dunning-general" mb="sm">
            Reminders and late fee
          </Title>
          <Stack>
            <Switch
              label="Send reminders for unpaid invoices"
              {...form.getInputProps("enabled", { type: "checkbox" })}
              key={form.key("enabled")}
            />
            <SimpleGrid cols={{ base: 1, sm: 2 }}>
              <TextInput
                label={`Late fee, fixed (${currency})`}
                inputMode="decimal"
                {...form.getInputProps("late_fee_fixed")}
                key={form.key("late_fee_fixed")}
              />
              <TextInput
                label="Late fee, percent of the balance"
                inputMode="decimal"
                {...form.getInputProps("late_fee_percent")}
                key={form.key("late_fee_percent")}
              />
              <Select
                label="Late fee is added at step"
                placeholder="No late fee"
                clearable
                data={values.steps.filter((step) => step.kind !== "escalation").map((step) => step.key)}
                {...form.getInputProps("late_fee_step")}
                key={form.key("late_fee_step")}
              />
              <NumberInput
                label="After the last step, remind every (days)"
                description="Leave empty to stop after the last step"
                min={1}
                max={365}
                {...form.getInputProps("endless_every_days")}
                key={form.key("endless_every_days")}
              />
            </SimpleGrid>
          </Stack>
        </Paper>

        <Paper withBorder p="md" radius="md" component="section" aria-labelledby="dunning-steps">
          <Group justify="space-between" mb="sm">
            <Title order={2} size="h4" id="dunning-steps">
              Steps
            </Title>
            <PreviewInvoicePicker value={previewInvoice} onChange={setPreviewInvoice} />
          </Group>
          <Text size="sm" c="gray.7" mb="sm">
            Templates use placeholders such as {"{{ invoice.number }}"}, {"{{ invoice.balance }}"},{" "}
            {"{{ invoice.due_date }}"}, {"{{ days_overdue }}"}, {"{{ client.name }}"}, {"{{ firm.name }}"} and{" "}
            {"{{ pay_link }}"}.
          </Text>
          <Stack>
            {values.steps.length === 0 && (
              <Alert color="gray">No steps: unpaid invoices get no reminder. Add a step below.</Alert>
            )}
            {values.steps.map((step, index) => (
              <StepEditor
                key={form.key(`steps.${index}`)}
                form={form}
                index={index}
                step={step}
                previewInvoice={previewInvoice}
              />
            ))}
            <Button variant="default" onClick={addStep} w="fit-content">
              Add a step
            </Button>
          </Stack>
        </Paper>
        <Group>
          <Button type="submit" loading={submitting}>
            Save policy
          </Button>
          <Text size="sm" c="gray.7">
            Version {policy.version}
            {policy.late_fee_fixed > 0 && ` · fixed late fee ${formatMinor(policy.late_fee_fixed, currency)}`}
          </Text>
        </Group>
      </Stack>
    </form>
  );
}

/** Sample data, or one of the firm's invoices, for the template previews. */
function PreviewInvoicePicker({ value, onChange }: { value: string; onChange: (value: string) => void }) {
  const invoices = useQuery({
    queryKey: ["invoices", "for-dunning-preview"],
    queryFn: async () => data(await api.GET("/v1/invoices", { params: { query: { kind: "invoice", limit: 50 } } })),
  });
  const choices = [
    { value: SAMPLE, label: "Sample data" },
    ...(invoices.data?.items ?? [])
      .filter((invoice) => invoice.number !== null)
      .map((invoice) => ({
        value: invoice.id,
        label: `${invoice.number} · ${formatMinor(invoice.balance, invoice.currency)} open`,
      })),
  ];
  return (
    <Select
      label="Preview with"
      data={choices}
      value={value}
      onChange={(chosen) => onChange(chosen ?? SAMPLE)}
      allowDeselect={false}
      w={280}
    />
  );
}

interface Rendered {
  subject: string;
  body: string;
}

function StepEditor({
  form,
  index,
  step,
  previewInvoice,
}: {
  form: PolicyForm;
  index: number;
  step: StepValues;
  previewInvoice: string;
}) {
  const [preview, setPreview] = useState<Rendered | null>(null);
  const [previewError, setPreviewError] = useState<unknown>(null);
  const [previewing, setPreviewing] = useState(false);
  const path = `steps.${index}`;
  const sendsEmail = step.kind !== "escalation";
  const name = `step ${index + 1} (${step.key})`;

  const showPreview = async () => {
    setPreviewing(true);
    setPreview(null);
    setPreviewError(null);
    form.clearFieldError(`${path}.subject`);
    form.clearFieldError(`${path}.body`);
    try {
      setPreview(
        data(
          await api.POST("/v1/billing/dunning-policy/preview", {
            body: {
              subject: step.subject,
              body: step.body,
              invoice_id: previewInvoice === SAMPLE ? null : previewInvoice,
            },
          }),
        ),
      );
    } catch (caught) {
      // A template that does not render names its field ("/subject" or "/body"): show it there.
      if (caught instanceof ApiProblem) {
        const fields = fieldErrors(caught.problem);
        for (const field of ["subject", "body"] as const) {
          const message = fields[field];
          if (message !== undefined) form.setFieldError(`${path}.${field}`, message);
        }
        if (fields.subject === undefined && fields.body === undefined) setPreviewError(caught);
      } else {
        setPreviewError(caught);
      }
    } finally {
      setPreviewing(false);
    }
  };

  return (
    <Paper withBorder p="sm" radius="sm" component="fieldset" aria-label={`Step ${index + 1}`}>
      <Stack gap="sm">
        <SimpleGrid cols={{ base: 1, sm: 3 }}>
          <TextInput label="Key" {...form.getInputProps(`${path}.key`)} key={form.key(`${path}.key`)} />
          <Select
            label="Kind"
            data={KINDS}
            allowDeselect={false}
            {...form.getInputProps(`${path}.kind`)}
            key={form.key(`${path}.kind`)}
          />
          <NumberInput
            label="Days from the due date"
            description="Negative: before it is due"
            min={-90}
            max={365}
            {...form.getInputProps(`${path}.offset_days`)}
            key={form.key(`${path}.offset_days`)}
          />
        </SimpleGrid>
        {sendsEmail && (
          <>
            <TextInput
              label="Email subject"
              {...form.getInputProps(`${path}.subject`)}
              key={form.key(`${path}.subject`)}
            />
            <Textarea
              label="Email body"
              autosize
              minRows={4}
              maxRows={14}
              {...form.getInputProps(`${path}.body`)}
              key={form.key(`${path}.body`)}
            />
          </>
        )}
        <Group>
          {sendsEmail && (
            <Button variant="light" onClick={showPreview} loading={previewing} aria-label={`Preview ${name}`}>
              Preview
            </Button>
          )}
          <Button
            variant="subtle"
            color="red"
            onClick={() => form.removeListItem("steps", index)}
            aria-label={`Remove ${name}`}
          >
            Remove step
          </Button>
        </Group>
        <ProblemAlert error={previewError} />
        {preview && (
          <Paper bg="gray.0" p="sm" radius="sm" aria-label={`Preview of ${name}`} role="region">
            <Text size="sm" fw={600}>
              Subject: {preview.subject}
            </Text>
            <Text size="sm" style={{ whiteSpace: "pre-wrap" }} mt="xs">
              {preview.body}
            </Text>
          </Paper>
        )}
      </Stack>
    </Paper>
  );
}
