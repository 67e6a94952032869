import {
  ActionIcon,
  Alert,
  Anchor,
  Button,
  Checkbox,
  Group,
  Loader,
  MultiSelect,
  NumberInput,
  Paper,
  SimpleGrid,
  Stack,
  Table,
  Text,
  Textarea,
  TextInput,
  Title,
} from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { IconTrash } from "@tabler/icons-react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, useNavigate, useParams } from "@tanstack/react-router";
import { useState, type ReactNode } from "react";

import { api, data } from "@/api/client";
import type { components } from "@/api/schema";
import { useMe } from "@/app/session";
import { ConfirmAction } from "@/components/ConfirmAction";
import { PageHeader } from "@/components/PageHeader";
import { ProblemAlert } from "@/components/ProblemAlert";
import { useApiForm, type ApiForm } from "@/components/useApiForm";
import { formatDate, formatDateTime, todayIn } from "@/lib/format";
import { ClientPicker } from "@/components/ClientPicker";
import { parseMinor, minorToInput } from "@/lib/money";
import { RecurringStatusBadge } from "./RecurringStatusBadge";
import { DEFAULT_RULE, describeRule, parseRrule, RuleParseError, toApiSchedule, type RuleState } from "./rrule";
import { RruleBuilder } from "./RruleBuilder";

type Recurring = components["schemas"]["RecurringInvoiceRead"];
type RecurringFields = components["schemas"]["RecurringFields"];

interface LineValues {
  description: string;
  quantity: string;
  unit_price: string;
  tax_rate_ids: string[];
}

interface RecurringValues extends Record<string, unknown> {
  client_id: string;
  currency: string;
  template: {
    lines: LineValues[];
    payment_terms_days: number | string;
    notes: string;
  };
  starts_at_local: string;
  time_zone: string;
  auto_send: boolean;
  // Written by the RRULE builder; here so the API's errors about them find a place.
  rrule: string;
  count: number | null;
  ends_on: string | null;
}

type RecurringForm = ApiForm<RecurringValues>["form"];

const EMPTY_LINE: LineValues = { description: "", quantity: "1", unit_price: "", tax_rate_ids: [] };

/** Tomorrow at 09:00 in the firm's time zone, as the wall-clock minute the API takes. */
function tomorrowMorning(timeZone: string): string {
  const [year, month, day] = todayIn(timeZone).split("-").map(Number);
  const tomorrow = new Date(Date.UTC(year ?? 2030, (month ?? 1) - 1, (day ?? 1) + 1));
  return `${tomorrow.toISOString().slice(0, 10)}T09:00`;
}

interface TemplateLine {
  description?: unknown;
  quantity?: unknown;
  unit_price?: unknown;
  tax_rate_ids?: unknown;
}

/** The saved template (free-form JSON in the API's answer) as the form's lines. */
function linesOf(template: Recurring["template"], currency: string): LineValues[] {
  const lines = Array.isArray(template.lines) ? (template.lines as TemplateLine[]) : [];
  return lines.map((line) => ({
    description: typeof line.description === "string" ? line.description : "",
    quantity: String(line.quantity ?? "1"),
    unit_price: typeof line.unit_price === "number" ? minorToInput(line.unit_price, currency) : "",
    tax_rate_ids: Array.isArray(line.tax_rate_ids) ? line.tax_rate_ids.map(String) : [],
  }));
}

function valuesOf(recurring: Recurring): RecurringValues {
  const template = recurring.template;
  return {
    client_id: recurring.client_id,
    currency: recurring.currency,
    template: {
      lines: linesOf(template, recurring.currency),
      payment_terms_days: typeof template.payment_terms_days === "number" ? template.payment_terms_days : "",
      notes: typeof template.notes === "string" ? template.notes : "",
    },
    starts_at_local: recurring.starts_at_local.slice(0, 16),
    time_zone: recurring.time_zone,
    auto_send: recurring.auto_send,
    rrule: recurring.rrule,
    count: recurring.count,
    ends_on: recurring.ends_on,
  };
}

/** The request body, or the field errors that keep it from being sent. */
function bodyOf(values: RecurringValues): { body: RecurringFields } | { errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  const lines = values.template.lines.map((line, index) => {
    const price = parseMinor(line.unit_price, values.currency || "USD");
    if (price === null || price < 0) errors[`template.lines.${index}.unit_price`] = `Give a price such as 120.00`;
    return {
      description: line.description,
      quantity: line.quantity,
      unit_price: price ?? 0,
      tax_rate_ids: line.tax_rate_ids,
    };
  });
  if (Object.keys(errors).length > 0) return { errors };
  return {
    body: {
      client_id: values.client_id,
      currency: values.currency || null,
      template: {
        lines,
        payment_terms_days: values.template.payment_terms_days === "" ? null : Number(values.template.payment_terms_days),
        notes: values.template.notes || null,
      },
      rrule: values.rrule,
      count: values.count,
      ends_on: values.ends_on,
      starts_at_local: values.starts_at_local,
      time_zone: values.time_zone || null,
      auto_send: values.auto_send,
    },
  };
}

export function NewRecurringInvoicePage() {
  const me = useMe();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const initial: RecurringValues = {
    client_id: "",
    currency: me.firm.default_currency,
    template: { lines: [EMPTY_LINE], payment_terms_days: "", notes: "" },
    starts_at_local: tomorrowMorning(me.firm.time_zone),
    time_zone: me.firm.time_zone,
    auto_send: false,
    ...toApiSchedule(DEFAULT_RULE),
  };
  return (
    <Stack>
      <PageHeader
        title="New recurring invoice"
        description="An invoice made again and again from this template, on the schedule you build."
      />
      <RecurringInvoiceForm
        initial={initial}
        initialRule={DEFAULT_RULE}
        submitLabel="Create recurring invoice"
        onSubmit={async (body) => {
          const created = data(await api.POST("/v1/recurring-invoices", { body }));
          await queryClient.invalidateQueries({ queryKey: ["recurring-invoices"] });
          notifications.show({ color: "green", message: "Recurring invoice created." });
          await navigate({ to: `/recurring-invoices/${created.id}` });
        }}
      />
    </Stack>
  );
}

export function RecurringInvoicePage() {
  const { id } = useParams({ from: "/app/recurring-invoices/$id" });
  const recurring = useQuery({
    queryKey: ["recurring-invoices", id],
    queryFn: async () =>
      data(await api.GET("/v1/recurring-invoices/{recurring_invoice_id}", { params: { path: { recurring_invoice_id: id } } })),
  });
  return (
    <Stack>
      <PageHeader
        title="Recurring invoice"
        description={
          recurring.data ? (
            <>
              <RecurringStatusBadge status={recurring.data.status} />{" "}
              {recurring.data.last_occurrence_date
                ? `Last invoiced for ${formatDate(recurring.data.last_occurrence_date)}.`
                : "Not invoiced yet."}
            </>
          ) : undefined
        }
        actions={recurring.data && <StatusActions recurring={recurring.data} />}
      />
      <Anchor component={Link} to="/recurring-invoices" size="sm">
        All recurring invoices
      </Anchor>
      <ProblemAlert error={recurring.error} />
      {recurring.isPending && <Loader aria-label="Loading the recurring invoice" />}
      {recurring.data && (
        <>
          <NextOccurrences recurring={recurring.data} />
          <EditRecurringInvoice key={recurring.data.updated_at} recurring={recurring.data} />
        </>
      )}
    </Stack>
  );
}

function EditRecurringInvoice({ recurring }: { recurring: Recurring }) {
  const queryClient = useQueryClient();
  const initial = valuesOf(recurring);
  let initialRule: RuleState | string;
  try {
    initialRule = parseRrule(recurring.rrule, recurring);
  } catch (error) {
    if (!(error instanceof RuleParseError)) throw error;
    initialRule = recurring.rrule;
  }
  if (recurring.status === "ended") {
    return (
      <Alert color="gray" title="This recurring invoice has ended">
        It issues no more invoices and cannot be changed. Its rule was {recurring.rrule}.
      </Alert>
    );
  }
  return (
    <RecurringInvoiceForm
      initial={initial}
      initialRule={initialRule}
      submitLabel="Save changes"
      onSubmit={async (body) => {
        // The client and currency of a recurring invoice are fixed once it is created.
        const saved = data(
          await api.PATCH("/v1/recurring-invoices/{recurring_invoice_id}", {
            params: { path: { recurring_invoice_id: recurring.id } },
            body: {
              template: body.template,
              rrule: body.rrule,
              count: body.count,
              ends_on: body.ends_on,
              starts_at_local: body.starts_at_local,
              time_zone: body.time_zone ?? recurring.time_zone,
              auto_send: body.auto_send ?? false,
            },
          }),
        );
        queryClient.setQueryData(["recurring-invoices", recurring.id], saved);
        await queryClient.invalidateQueries({ queryKey: ["recurring-invoices"] });
        notifications.show({ color: "green", message: "Recurring invoice saved; the schedule is re-planned from now on." });
      }}
      fixedClientAndCurrency
    />
  );
}

interface FormProps {
  initial: RecurringValues;
  /** The builder's state, or the rule's text when the builder cannot show it. */
  initialRule: RuleState | string;
  submitLabel: string;
  onSubmit: (body: RecurringFields) => Promise<void>;
  fixedClientAndCurrency?: boolean;
}

function RecurringInvoiceForm({ initial, initialRule, submitLabel, onSubmit, fixedClientAndCurrency }: FormProps) {
  const { form, error, unplaced, submit, submitting } = useApiForm<RecurringValues>({ initialValues: initial });
  const [rule, setRule] = useState<RuleState | string>(initialRule);

  const changeRule = (next: RuleState) => {
    setRule(next);
    const schedule = toApiSchedule(next);
    form.setValues({ ...schedule });
    form.clearFieldError("rrule");
    form.clearFieldError("count");
    form.clearFieldError("ends_on");
  };

  const save = submit(async (values) => {
    const built = bodyOf(values);
    if ("errors" in built) {
      form.setErrors(built.errors);
      return;
    }
    await onSubmit(built.body);
  });

  return (
    <form onSubmit={save} noValidate>
      <Stack>
        <ProblemAlert error={error} unplaced={unplaced} />
        <FormSection id="recurring-template" title="Invoice">
          <SimpleGrid cols={{ base: 1, sm: 2 }}>
            {fixedClientAndCurrency ? (
              <FixedClient clientId={form.getValues().client_id} currency={form.getValues().currency} />
            ) : (
              <>
                <ClientPicker
                  label="Client"
                  placeholder="Type to search clients"
                  required
                  value={form.getValues().client_id || null}
                  onChange={(clientId) => form.setFieldValue("client_id", clientId ?? "")}
                  error={form.errors.client_id}
                />
                <TextInput
                  label="Currency"
                  description="ISO code, e.g. USD or EUR"
                  maxLength={3}
                  {...form.getInputProps("currency")}
                  key={form.key("currency")}
                />
              </>
            )}
          </SimpleGrid>
          <LinesEditor form={form} />
          <SimpleGrid cols={{ base: 1, sm: 2 }}>
            <NumberInput
              label="Payment terms (days)"
              description="Empty: the firm's default terms"
              min={0}
              max={365}
              allowDecimal={false}
              {...form.getInputProps("template.payment_terms_days")}
              key={form.key("template.payment_terms_days")}
            />
            <Textarea
              label="Notes printed on each invoice"
              autosize
              minRows={2}
              {...form.getInputProps("template.notes")}
              key={form.key("template.notes")}
            />
          </SimpleGrid>
        </FormSection>
        <FormSection id="recurring-schedule" title="Schedule">
          <SimpleGrid cols={{ base: 1, sm: 2 }}>
            <TextInput
              type="datetime-local"
              label="First invoice on or after"
              description="Local date and time in the time zone below"
              required
              {...form.getInputProps("starts_at_local")}
              key={form.key("starts_at_local")}
            />
            <TextInput
              label="Time zone"
              description="IANA name, e.g. Europe/Berlin"
              {...form.getInputProps("time_zone")}
              key={form.key("time_zone")}
            />
          </SimpleGrid>
          {typeof rule === "string" ? (
            <TextInput
              label="Rule (RRULE)"
              description="This rule uses parts the builder does not offer; edit it as text."
              {...form.getInputProps("rrule")}
              key={form.key("rrule")}
            />
          ) : (
            <RruleBuilder
              value={rule}
              onChange={changeRule}
              errors={{
                rrule: errorText(form.errors.rrule),
                count: errorText(form.errors.count),
                ends_on: errorText(form.errors.ends_on),
              }}
            />
          )}
          <Checkbox
            label="Send each invoice to the client as soon as it is made (otherwise it waits as a draft)"
            {...form.getInputProps("auto_send", { type: "checkbox" })}
            key={form.key("auto_send")}
          />
        </FormSection>
        <Button type="submit" loading={submitting} w="fit-content">
          {submitLabel}
        </Button>
      </Stack>
    </form>
  );
}

function errorText(error: ReactNode): string | undefined {
  return typeof error === "string" ? error : undefined;
}

function FormSection({ id, title, children }: { id: string; title: string; children: ReactNode }) {
  return (
    <Paper withBorder p="md" radius="md" component="section" aria-labelledby={id}>
      <Title order={2} size="h4" id={id} mb="sm">
        {title}
      </Title>
      <Stack>{children}</Stack>
    </Paper>
  );
}

function FixedClient({ clientId, currency }: { clientId: string; currency: string }) {
  const client = useQuery({
    queryKey: ["clients", clientId],
    queryFn: async () => data(await api.GET("/v1/clients/{client_id}", { params: { path: { client_id: clientId } } })),
  });
  return (
    <Text size="sm">
      For{" "}
      <Anchor component={Link} to={`/clients/${clientId}`}>
        {client.data?.name ?? "the client"}
      </Anchor>
      , in {currency}.
    </Text>
  );
}

function LinesEditor({ form }: { form: RecurringForm }) {
  const taxRates = useQuery({
    queryKey: ["tax-rates", "choices"],
    queryFn: async () => data(await api.GET("/v1/tax-rates", { params: { query: { limit: 100 } } })),
  });
  const choices = (taxRates.data?.items ?? []).map((rate) => ({
    value: rate.id,
    label: `${rate.name} (${Number(rate.percent)}%)`,
  }));
  const lines = form.getValues().template.lines;
  return (
    <Stack gap="xs">
      <Text fw={600} size="sm" component="h3">
        Lines
      </Text>
      {lines.map((_, index) => {
        const path = `template.lines.${index}`;
        return (
          <Paper key={form.key(path)} withBorder p="sm" radius="sm">
            <Group align="flex-start" wrap="wrap">
              <TextInput
                label={`Line ${index + 1} description`}
                required
                style={{ flex: 2, minWidth: 200 }}
                {...form.getInputProps(`${path}.description`)}
                key={form.key(`${path}.description`)}
              />
              <TextInput
                label="Quantity"
                inputMode="decimal"
                w={100}
                {...form.getInputProps(`${path}.quantity`)}
                key={form.key(`${path}.quantity`)}
              />
              <TextInput
                label={`Unit price (${form.getValues().currency || "currency"})`}
                inputMode="decimal"
                w={150}
                {...form.getInputProps(`${path}.unit_price`)}
                key={form.key(`${path}.unit_price`)}
              />
              <MultiSelect
                label="Tax rates"
                data={choices}
                style={{ flex: 1, minWidth: 180 }}
                {...form.getInputProps(`${path}.tax_rate_ids`)}
                key={form.key(`${path}.tax_rate_ids`)}
              />
              <ActionIcon
                variant="subtle"
                color="red"
                mt={28}
                disabled={lines.length === 1}
                onClick={() => form.removeListItem("template.lines", index)}
                aria-label={`Remove line ${index + 1}`}
              >
                <IconTrash size={18} />
              </ActionIcon>
            </Group>
          </Paper>
        );
      })}
      <Button variant="default" w="fit-content" onClick={() => form.insertListItem("template.lines", { ...EMPTY_LINE })}>
        Add a line
      </Button>
    </Stack>
  );
}

function StatusActions({ recurring }: { recurring: Recurring }) {
  const queryClient = useQueryClient();
  const act = async (action: "pause" | "resume" | "end", message: string) => {
    const params = { params: { path: { recurring_invoice_id: recurring.id } } };
    const answer =
      action === "pause"
        ? await api.POST("/v1/recurring-invoices/{recurring_invoice_id}/pause", params)
        : action === "resume"
          ? await api.POST("/v1/recurring-invoices/{recurring_invoice_id}/resume", params)
          : await api.POST("/v1/recurring-invoices/{recurring_invoice_id}/end", params);
    const changed = data(answer);
    queryClient.setQueryData(["recurring-invoices", recurring.id], changed);
    await queryClient.invalidateQueries({ queryKey: ["recurring-invoices"] });
    notifications.show({ message });
  };
  if (recurring.status === "ended") return null;
  return (
    <Group gap="sm">
      {/* Keyed: the status flips before the dialog closes, and each dialog must go with its button. */}
      {recurring.status === "active" ? (
        <ConfirmAction
          key="pause"
          label="Pause"
          title="Pause this recurring invoice?"
          confirmColor="orange"
          consequence="No invoice is made while it is paused; the dates that pass meanwhile are skipped, not made up later. You can resume it at any time."
          onConfirm={() => act("pause", "Recurring invoice paused.")}
        />
      ) : (
        <ConfirmAction
          key="resume"
          label="Resume"
          title="Resume this recurring invoice?"
          confirmColor="blue"
          consequence="Invoices are made again from the next date of the schedule on; the dates skipped while it was paused stay skipped."
          onConfirm={() => act("resume", "Recurring invoice resumed.")}
        />
      )}
      <ConfirmAction
        label="End for good"
        title="End this recurring invoice?"
        consequence="No more invoices are made from it, and it can neither be resumed nor changed. Invoices already made are kept."
        onConfirm={() => act("end", "Recurring invoice ended.")}
      />
    </Group>
  );
}

function NextOccurrences({ recurring }: { recurring: Recurring }) {
  const me = useMe();
  const preview = useQuery({
    queryKey: ["recurring-invoices", recurring.id, "preview", recurring.updated_at],
    queryFn: async () =>
      data(
        await api.GET("/v1/recurring-invoices/{recurring_invoice_id}/preview", {
          params: { path: { recurring_invoice_id: recurring.id }, query: { n: 12 } },
        }),
      ),
  });
  let rule = recurring.rrule;
  try {
    rule = describeRule(parseRrule(recurring.rrule, recurring));
  } catch (error) {
    if (!(error instanceof RuleParseError)) throw error;
  }
  return (
    <Paper withBorder p="md" radius="md" component="section" aria-labelledby="next-occurrences">
      <Title order={2} size="h4" id="next-occurrences">
        Next invoices
      </Title>
      <Text size="sm" c="gray.7" mb="sm">
        {rule}, at {recurring.starts_at_local.slice(11, 16)} {recurring.time_zone}.
        {recurring.status === "paused" && " Paused: these dates are skipped until it is resumed."}
      </Text>
      <ProblemAlert error={preview.error} />
      {preview.isPending && <Loader aria-label="Loading the next dates" />}
      {preview.data && preview.data.occurrences.length === 0 && (
        <Text size="sm">No more dates: the schedule has reached its end.</Text>
      )}
      {preview.data && preview.data.occurrences.length > 0 && (
        <Table.ScrollContainer minWidth={420}>
          <Table aria-label="The next invoice dates" striped>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>#</Table.Th>
                <Table.Th>Issue date</Table.Th>
                <Table.Th>Made at ({me.firm.time_zone})</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {preview.data.occurrences.map((occurrence, index) => (
                <Table.Tr key={occurrence.occurrence_date}>
                  <Table.Td>{index + 1}</Table.Td>
                  <Table.Td>{formatDate(occurrence.occurrence_date)}</Table.Td>
                  <Table.Td>{formatDateTime(occurrence.at, me.firm.time_zone)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
    </Paper>
  );
}

