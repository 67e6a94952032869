import { Badge, Button, Checkbox, Group, Modal, Paper, Stack, Switch, Table, TextInput, Title } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useInfiniteQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { api, data } from "@/api/client";
import type { components } from "@/api/schema";
import { useMe } from "@/app/session";
import { ConfirmAction } from "@/components/ConfirmAction";
import { EmptyState } from "@/components/EmptyState";
import { allItems, LoadMore } from "@/components/LoadMore";
import { PageHeader } from "@/components/PageHeader";
import { ProblemAlert } from "@/components/ProblemAlert";
import { useApiForm } from "@/components/useApiForm";
import { formatDateTime } from "@/lib/format";

type TaxRate = components["schemas"]["TaxRateRead"];

interface TaxRateValues extends Record<string, unknown> {
  name: string;
  percent: string;
  inclusive: boolean;
}

const TAX_RATES = ["tax-rates"] as const;

export function TaxRatesPage() {
  const [showArchived, setShowArchived] = useState(false);
  const rates = useInfiniteQuery({
    queryKey: [...TAX_RATES, { showArchived }],
    queryFn: async ({ pageParam }) =>
      data(
        await api.GET("/v1/tax-rates", {
          params: { query: { include_archived: showArchived, limit: 50, cursor: pageParam } },
        }),
      ),
    initialPageParam: null as string | null,
    getNextPageParam: (page) => page.next_cursor ?? null,
  });
  const items = allItems(rates.data?.pages);

  return (
    <Stack>
      <PageHeader
        title="Tax rates"
        description="The rates invoice lines can carry. Changing a rate leaves invoices already saved as they are."
      />
      <NewTaxRate />
      <Paper withBorder p="md" radius="md">
        <Group justify="space-between" mb="sm">
          <Title order={2} size="h4">
            Rates
          </Title>
          <Switch
            label="Show archived rates"
            checked={showArchived}
            onChange={(event) => setShowArchived(event.currentTarget.checked)}
          />
        </Group>
        <ProblemAlert error={rates.error} />
        {rates.isSuccess && items.length === 0 ? (
          <EmptyState title="No tax rates yet">
            Add the rates you charge (for example “VAT 20%”) above; invoice lines can then use them.
          </EmptyState>
        ) : (
          <TaxRatesTable rates={items} />
        )}
        <LoadMore {...rates} />
      </Paper>
    </Stack>
  );
}

function TaxRatesTable({ rates }: { rates: TaxRate[] }) {
  const me = useMe();
  return (
    <Table.ScrollContainer minWidth={560}>
      <Table striped aria-label="Tax rates">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Name</Table.Th>
            <Table.Th>Percent</Table.Th>
            <Table.Th>Price includes tax</Table.Th>
            <Table.Th>Changed</Table.Th>
            <Table.Th>Actions</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {rates.map((rate) => (
            <Table.Tr key={rate.id}>
              <Table.Td>
                {rate.name}{" "}
                {rate.archived_at && (
                  <Badge color="gray" variant="dot">
                    Archived
                  </Badge>
                )}
              </Table.Td>
              <Table.Td>{formatPercent(rate.percent)}</Table.Td>
              <Table.Td>{rate.inclusive ? "Yes" : "No"}</Table.Td>
              <Table.Td>{formatDateTime(rate.updated_at, me.firm.time_zone)}</Table.Td>
              <Table.Td>{!rate.archived_at && <TaxRateActions rate={rate} />}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

/** "20.0000" as "20%"; the API keeps four decimals. */
export function formatPercent(percent: string): string {
  const value = Number(percent);
  return Number.isFinite(value) ? `${value}%` : percent;
}

function TaxRateFields({ form }: { form: ReturnType<typeof useApiForm<TaxRateValues>>["form"] }) {
  return (
    <>
      <TextInput label="Name" required {...form.getInputProps("name")} key={form.key("name")} />
      <TextInput
        label="Percent"
        description="0 to 100, up to four decimals"
        inputMode="decimal"
        required
        {...form.getInputProps("percent")}
        key={form.key("percent")}
      />
      <Checkbox
        label="Prices already include this tax"
        {...form.getInputProps("inclusive", { type: "checkbox" })}
        key={form.key("inclusive")}
      />
    </>
  );
}

function NewTaxRate() {
  const queryClient = useQueryClient();
  const { form, error, unplaced, submit, submitting } = useApiForm<TaxRateValues>({
    initialValues: { name: "", percent: "", inclusive: false },
  });
  const create = submit(async (values) => {
    const rate = data(await api.POST("/v1/tax-rates", { body: values }));
    form.reset();
    notifications.show({ color: "green", message: `Tax rate ${rate.name} added.` });
    await queryClient.invalidateQueries({ queryKey: TAX_RATES });
  });
  return (
    <Paper withBorder p="md" radius="md" component="section" aria-labelledby="new-tax-rate">
      <Title order={2} size="h4" id="new-tax-rate" mb="sm">
        Add a tax rate
      </Title>
      <form onSubmit={create} noValidate>
        <Stack maw={420}>
          <ProblemAlert error={error} unplaced={unplaced} />
          <TaxRateFields form={form} />
          <Button type="submit" loading={submitting} w="fit-content">
            Add tax rate
          </Button>
        </Stack>
      </form>
    </Paper>
  );
}

function TaxRateActions({ rate }: { rate: TaxRate }) {
  const queryClient = useQueryClient();
  const [editing, setEditing] = useState(false);
  const archive = async () => {
    data(await api.POST("/v1/tax-rates/{tax_rate_id}/archive", { params: { path: { tax_rate_id: rate.id } } }));
    notifications.show({ message: `Tax rate ${rate.name} archived.` });
    await queryClient.invalidateQueries({ queryKey: TAX_RATES });
  };
  return (
    <Group gap="xs" wrap="nowrap">
      <Button size="xs" variant="default" onClick={() => setEditing(true)} aria-label={`Edit ${rate.name}`}>
        Edit
      </Button>
      <ConfirmAction
        size="xs"
        label="Archive"
        aria-label={`Archive ${rate.name}`}
        title={`Archive ${rate.name}?`}
        consequence={
          <>
            New invoice lines can no longer use {rate.name}. Invoices that already carry it keep it, and
            its name becomes free for a new rate. An archived rate cannot be brought back.
          </>
        }
        onConfirm={archive}
      />
      <Modal opened={editing} onClose={() => setEditing(false)} title={`Edit ${rate.name}`} centered>
        <EditTaxRate rate={rate} onDone={() => setEditing(false)} />
      </Modal>
    </Group>
  );
}

function EditTaxRate({ rate, onDone }: { rate: TaxRate; onDone: () => void }) {
  const queryClient = useQueryClient();
  const { form, error, unplaced, submit, submitting } = useApiForm<TaxRateValues>({
    initialValues: { name: rate.name, percent: String(Number(rate.percent)), inclusive: rate.inclusive },
  });
  const save = submit(async (values) => {
    data(
      await api.PATCH("/v1/tax-rates/{tax_rate_id}", {
        params: { path: { tax_rate_id: rate.id } },
        body: values,
      }),
    );
    notifications.show({ color: "green", message: `Tax rate ${values.name} saved.` });
    await queryClient.invalidateQueries({ queryKey: TAX_RATES });
    onDone();
  });
  return (
    <form onSubmit={save} noValidate>
      <Stack>
        <ProblemAlert error={error} unplaced={unplaced} />
        <TaxRateFields form={form} />
        <Group justify="flex-end">
          <Button variant="default" onClick={onDone}>
            Cancel
          </Button>
          <Button type="submit" loading={submitting}>
            Save
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
