import {
  Button,
  Checkbox,
  Group,
  Loader,
  NumberInput,
  Paper,
  SimpleGrid,
  Stack,
  Text,
  Textarea,
  TextInput,
  Title,
} from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import type { ReactNode } from "react";

import { api, data } from "@/api/client";
import type { components } from "@/api/schema";
import { useMe } from "@/app/session";
import { ConfirmAction } from "@/components/ConfirmAction";
import { PageHeader } from "@/components/PageHeader";
import { ProblemAlert } from "@/components/ProblemAlert";
import { useApiForm } from "@/components/useApiForm";
import { formatDateTime } from "@/lib/format";

type Settings = components["schemas"]["BillingSettingsRead"];

const SETTINGS = ["billing-settings"] as const;

const ISO_WEEKDAYS = [
  { value: 1, label: "Monday" },
  { value: 2, label: "Tuesday" },
  { value: 3, label: "Wednesday" },
  { value: 4, label: "Thursday" },
  { value: 5, label: "Friday" },
  { value: 6, label: "Saturday" },
  { value: 7, label: "Sunday" },
];

export function BillingSettingsPage() {
  const me = useMe();
  const settings = useQuery({
    queryKey: SETTINGS,
    queryFn: async () => data(await api.GET("/v1/billing/settings")),
  });
  return (
    <Stack>
      <PageHeader
        title="Billing settings"
        description={
          settings.data
            ? `How invoices are numbered, dated and signed. Last changed ${formatDateTime(settings.data.updated_at, me.firm.time_zone)}.`
            : "How invoices are numbered, dated and signed."
        }
      />
      <ProblemAlert error={settings.error} />
      {settings.isPending && <Loader aria-label="Loading the billing settings" />}
      {settings.data && (
        <>
          <SellerDetails settings={settings.data} />
          <NumberingAndTerms settings={settings.data} />
          <InvoiceTemplate settings={settings.data} />
        </>
      )}
    </Stack>
  );
}

function Section({ id, title, description, children }: { id: string; title: string; description: ReactNode; children: ReactNode }) {
  return (
    <Paper withBorder p="md" radius="md" component="section" aria-labelledby={id}>
      <Title order={2} size="h4" id={id}>
        {title}
      </Title>
      <Text size="sm" c="gray.7" mb="sm">
        {description}
      </Text>
      {children}
    </Paper>
  );
}

/** Saving the settings refreshes the page's copy with what the API answered. */
function useSaveSettings() {
  const queryClient = useQueryClient();
  return async (body: components["schemas"]["BillingSettingsUpdate"], message: string) => {
    const saved = data(await api.PATCH("/v1/billing/settings", { body }));
    queryClient.setQueryData(SETTINGS, saved);
    notifications.show({ color: "green", message });
  };
}

type SellerField =
  | "seller_legal_name"
  | "seller_address_line1"
  | "seller_address_line2"
  | "seller_postal_code"
  | "seller_city"
  | "seller_country"
  | "seller_vat_id"
  | "seller_tax_number"
  | "seller_iban"
  | "seller_bic";

type SellerValues = Record<SellerField, string>;

const SELLER_FIELDS: { name: SellerField; label: string; description?: string }[] = [
  { name: "seller_legal_name", label: "Legal name" },
  { name: "seller_address_line1", label: "Street and number" },
  { name: "seller_address_line2", label: "Address line 2" },
  { name: "seller_postal_code", label: "Postal code" },
  { name: "seller_city", label: "City" },
  { name: "seller_country", label: "Country", description: "Two-letter ISO code, e.g. DE or US" },
  { name: "seller_vat_id", label: "VAT id" },
  { name: "seller_tax_number", label: "Tax number", description: "Where it may replace the VAT id" },
  { name: "seller_iban", label: "IBAN" },
  { name: "seller_bic", label: "BIC" },
];

function SellerDetails({ settings }: { settings: Settings }) {
  const save = useSaveSettings();
  const { form, error, unplaced, submit, submitting } = useApiForm<SellerValues>({
    initialValues: Object.fromEntries(
      SELLER_FIELDS.map(({ name }) => [name, settings[name] ?? ""]),
    ) as SellerValues,
  });
  const onSubmit = submit(async (values) => {
    // A blank field clears the detail.
    const body = Object.fromEntries(
      Object.entries(values).map(([name, value]) => [name, typeof value === "string" && value.trim() ? value.trim() : null]),
    );
    await save(body, "Seller details saved.");
  });
  return (
    <Section
      id="seller-details"
      title="Seller details"
      description="Printed on every invoice. In an EU country, the legal name, street, postal code, city and VAT id (or tax number) must be set before an invoice can be issued."
    >
      <form onSubmit={onSubmit} noValidate>
        <Stack>
          <ProblemAlert error={error} unplaced={unplaced} />
          <SimpleGrid cols={{ base: 1, sm: 2 }}>
            {SELLER_FIELDS.map(({ name, label, description }) => (
              <TextInput key={form.key(name)} label={label} description={description} {...form.getInputProps(name)} />
            ))}
          </SimpleGrid>
          <Button type="submit" loading={submitting} w="fit-content">
            Save seller details
          </Button>
        </Stack>
      </form>
    </Section>
  );
}

interface NumberingValues extends Record<string, unknown> {
  invoice_number_prefix: string;
  credit_note_number_prefix: string;
  invoice_number_digits: number | string;
  default_payment_terms_days: number | string;
  business_hours_start: number | string;
  business_hours_end: number | string;
  business_days: string[];
}

function NumberingAndTerms({ settings }: { settings: Settings }) {
  const save = useSaveSettings();
  const { form, error, unplaced, submit, submitting } = useApiForm<NumberingValues>({
    initialValues: {
      invoice_number_prefix: settings.invoice_number_prefix,
      credit_note_number_prefix: settings.credit_note_number_prefix,
      invoice_number_digits: settings.invoice_number_digits,
      default_payment_terms_days: settings.default_payment_terms_days,
      business_hours_start: settings.business_hours_start,
      business_hours_end: settings.business_hours_end,
      business_days: settings.business_days.map(String),
    },
  });
  const onSubmit = submit(async (values) => {
    await save(
      {
        invoice_number_prefix: values.invoice_number_prefix,
        credit_note_number_prefix: values.credit_note_number_prefix,
        invoice_number_digits: Number(values.invoice_number_digits),
        default_payment_terms_days: Number(values.default_payment_terms_days),
        business_hours_start: Number(values.business_hours_start),
        business_hours_end: Number(values.business_hours_end),
        business_days: values.business_days.map(Number),
      },
      "Numbering and terms saved.",
    );
  });
  return (
    <Section
      id="numbering"
      title="Numbering, terms and reminder hours"
      description="Prefixes may contain {year}, the issue date's year; each prefix numbers from 1. Reminders go out within the business hours, in the firm's time zone."
    >
      <form onSubmit={onSubmit} noValidate>
        <Stack>
          <ProblemAlert error={error} unplaced={unplaced} />
          <SimpleGrid cols={{ base: 1, sm: 2 }}>
            <TextInput label="Invoice number prefix" {...form.getInputProps("invoice_number_prefix")} key={form.key("invoice_number_prefix")} />
            <TextInput
              label="Credit note number prefix"
              {...form.getInputProps("credit_note_number_prefix")}
              key={form.key("credit_note_number_prefix")}
            />
            <NumberInput label="Digits in a number" min={1} max={12} {...form.getInputProps("invoice_number_digits")} key={form.key("invoice_number_digits")} />
            <NumberInput
              label="Default payment terms (days)"
              min={0}
              max={365}
              {...form.getInputProps("default_payment_terms_days")}
              key={form.key("default_payment_terms_days")}
            />
            <NumberInput
              label="Business hours start (hour, 0–23)"
              min={0}
              max={23}
              {...form.getInputProps("business_hours_start")}
              key={form.key("business_hours_start")}
            />
            <NumberInput
              label="Business hours end (hour, 1–24)"
              min={1}
              max={24}
              {...form.getInputProps("business_hours_end")}
              key={form.key("business_hours_end")}
            />
          </SimpleGrid>
          <Checkbox.Group label="Business days" {...form.getInputProps("business_days")} key={form.key("business_days")}>
            <Group mt="xs">
              {ISO_WEEKDAYS.map((day) => (
                <Checkbox key={day.value} value={String(day.value)} label={day.label} />
              ))}
            </Group>
          </Checkbox.Group>
          <Button type="submit" loading={submitting} w="fit-content">
            Save numbering and terms
          </Button>
        </Stack>
      </form>
    </Section>
  );
}

interface TemplateValues extends Record<string, unknown> {
  template: string;
}

function InvoiceTemplate({ settings }: { settings: Settings }) {
  const queryClient = useQueryClient();
  const { form, error, unplaced, submit, submitting } = useApiForm<TemplateValues>({
    initialValues: { template: settings.invoice_template ?? "" },
  });
  const onSubmit = submit(async (values) => {
    const saved = data(await api.PUT("/v1/billing/settings/invoice-template", { body: values }));
    queryClient.setQueryData(SETTINGS, saved);
    notifications.show({ color: "green", message: "Invoice template saved." });
  });
  const clear = async () => {
    const saved = data(await api.DELETE("/v1/billing/settings/invoice-template"));
    queryClient.setQueryData(SETTINGS, saved);
    form.setValues({ template: "" });
    notifications.show({ message: "Invoices use the standard template again." });
  };
  return (
    <Section
      id="invoice-template"
      title="Invoice template"
      description={
        settings.invoice_template
          ? "Your own Jinja template renders every invoice. It sees firm, seller, client, invoice, lines, taxes, totals and totals_minor."
          : "Invoices use the standard template. Paste a Jinja template to use your own; it is checked by rendering a sample invoice."
      }
    >
      <form onSubmit={onSubmit} noValidate>
        <Stack>
          <ProblemAlert error={error} unplaced={unplaced} />
          <Textarea
            label="Template (HTML with Jinja placeholders)"
            autosize
            minRows={4}
            maxRows={20}
            styles={{ input: { fontFamily: "var(--mantine-font-family-monospace)" } }}
            {...form.getInputProps("template")}
            key={form.key("template")}
          />
          <Group>
            <Button type="submit" loading={submitting}>
              Save template
            </Button>
            {settings.invoice_template && (
              <ConfirmAction
                label="Use the standard template"
                title="Go back to the standard template?"
                consequence="Your template is deleted, and every invoice is rendered with the standard template from now on."
                onConfirm={clear}
              />
            )}
          </Group>
        </Stack>
      </form>
    </Section>
  );
}
