import {
  ActionIcon,
  Button,
  Group,
  MultiSelect,
  Select,
  SimpleGrid,
  Stack,
  Table,
  Textarea,
  TextInput,
  Title,
  VisuallyHidden,
} from "@mantine/core";
import type { UseFormReturnType } from "@mantine/form";
import { IconPlus, IconTrash } from "@tabler/icons-react";
import { useQuery } from "@tanstack/react-query";

import { ClientPicker } from "@/components/ClientPicker";
import { blankLine, type DraftValues } from "./draft";
import { taxRatesQuery, type TaxRate } from "./queries";

function rateLabel(rate: TaxRate): string {
  const percent = rate.percent.replace(/\.?0+$/, "");
  return `${rate.name} (${percent}%${rate.inclusive ? ", included" : ""})`;
}

/** The fields of a draft invoice: client, dates, currency, lines, discount and notes. */
export function InvoiceForm({ form }: { form: UseFormReturnType<DraftValues> }) {
  const rates = useQuery(taxRatesQuery);
  const rateOptions = (rates.data ?? []).map((rate) => ({ value: rate.id, label: rateLabel(rate) }));
  const values = form.values;
  const currency = values.currency.trim().toUpperCase() || "—";

  return (
    <Stack gap="md">
      <SimpleGrid cols={{ base: 1, sm: 2, lg: 4 }}>
        <ClientPicker
          label="Client"
          required
          value={values.client_id}
          onChange={(clientId) => form.setFieldValue("client_id", clientId)}
          error={form.errors.client_id as string | undefined}
        />
        <TextInput
          label="Currency"
          description="ISO code, such as USD or EUR"
          maxLength={3}
          {...form.getInputProps("currency")}
        />
        <TextInput
          type="date"
          label="Issue date"
          description="Empty: the day it is finalized"
          {...form.getInputProps("issue_date")}
        />
        <TextInput
          type="date"
          label="Due date"
          description="Empty: the firm's payment terms"
          {...form.getInputProps("due_date")}
        />
      </SimpleGrid>

      <Title order={2} size="h4">
        Lines
      </Title>
      <Table.ScrollContainer minWidth={720}>
        <Table aria-label="Invoice lines" verticalSpacing="xs">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Description</Table.Th>
              <Table.Th w={110}>Quantity</Table.Th>
              <Table.Th w={150}>Unit price ({currency})</Table.Th>
              <Table.Th w={240}>Tax</Table.Th>
              <Table.Th w={50}>
                <VisuallyHidden>Remove</VisuallyHidden>
              </Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {values.lines.map((line, index) => (
              <Table.Tr key={line.key} data-testid={`line-${index + 1}`}>
                <Table.Td valign="top">
                  <TextInput
                    aria-label={`Line ${index + 1} description`}
                    placeholder="What was done"
                    {...form.getInputProps(`lines.${index}.description`)}
                  />
                </Table.Td>
                <Table.Td valign="top">
                  <TextInput
                    aria-label={`Line ${index + 1} quantity`}
                    inputMode="decimal"
                    {...form.getInputProps(`lines.${index}.quantity`)}
                  />
                </Table.Td>
                <Table.Td valign="top">
                  <TextInput
                    aria-label={`Line ${index + 1} unit price`}
                    inputMode="decimal"
                    placeholder="0.00"
                    {...form.getInputProps(`lines.${index}.unit_price`)}
                  />
                </Table.Td>
                <Table.Td valign="top">
                  <MultiSelect
                    aria-label={`Line ${index + 1} tax rates`}
                    placeholder={rateOptions.length ? "No tax" : "No tax rates yet"}
                    data={rateOptions}
                    {...form.getInputProps(`lines.${index}.tax_rate_ids`)}
                  />
                </Table.Td>
                <Table.Td valign="top">
                  <ActionIcon
                    variant="subtle"
                    color="red"
                    aria-label={`Remove line ${index + 1}`}
                    disabled={values.lines.length === 1}
                    onClick={() => form.removeListItem("lines", index)}
                  >
                    <IconTrash size={18} />
                  </ActionIcon>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      <Group>
        <Button
          variant="default"
          leftSection={<IconPlus size={16} />}
          onClick={() => form.insertListItem("lines", blankLine())}
        >
          Add a line
        </Button>
      </Group>

      <SimpleGrid cols={{ base: 1, sm: 2 }}>
        <Select
          label="Discount"
          data={[
            { value: "none", label: "No discount" },
            { value: "percent", label: "Percent of the subtotal" },
            { value: "amount", label: `Amount (${currency})` },
          ]}
          allowDeselect={false}
          value={values.discount.kind || "none"}
          onChange={(kind) =>
            form.setFieldValue("discount.kind", kind === "percent" || kind === "amount" ? kind : "")
          }
          error={form.errors["discount.kind"] ?? form.errors.discount}
        />
        <TextInput
          label={values.discount.kind === "amount" ? `Discount amount (${currency})` : "Discount percent"}
          inputMode="decimal"
          disabled={values.discount.kind === ""}
          {...form.getInputProps("discount.value")}
        />
      </SimpleGrid>
      <Textarea label="Notes"
          description="Printed on the invoice" autosize minRows={2} {...form.getInputProps("notes")} />
    </Stack>
  );
}
