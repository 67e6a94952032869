import { Button, Group, Paper, Stack, Text } from "@mantine/core";
import { useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";

import { api, data } from "@/api/client";
import { useMe } from "@/app/session";
import { PageHeader } from "@/components/PageHeader";
import { ProblemAlert } from "@/components/ProblemAlert";
import { useApiForm } from "@/components/useApiForm";
import { blankDraft, draftBody, type DraftValues } from "./draft";
import { InvoiceForm } from "./InvoiceForm";
import { invoiceKey } from "./queries";
import { newInvoiceRoute } from "./routes";

/** A new draft: once the API accepts it, the draft's own page edits it with live totals. */
export function NewInvoicePage() {
  const { firm } = useMe();
  const { client } = newInvoiceRoute.useSearch();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const { form, error, unplaced, submit, submitting } = useApiForm<DraftValues>({
    initialValues: blankDraft(firm.default_currency, client ?? null),
    validate: { client_id: (value) => (value ? null : "Choose the client to bill") },
  });

  const create = submit(async (values) => {
    const created = data(await api.POST("/v1/invoices", { body: draftBody(values) }));
    queryClient.setQueryData(invoiceKey(created.id), created);
    await queryClient.invalidateQueries({ queryKey: ["invoices", "list"] });
    await navigate({ to: "/invoices/$invoiceId", params: { invoiceId: created.id } });
  });

  return (
    <form onSubmit={create} noValidate>
      <PageHeader
        title="New invoice"
        description="A draft until it is finalized: nothing is numbered or sent yet."
      />
      <Stack>
        <ProblemAlert error={error} unplaced={unplaced} />
        <Paper withBorder p="md">
          <InvoiceForm form={form} />
        </Paper>
        <Group justify="space-between">
          <Text size="sm" c="gray.7">
            The API computes the totals as soon as the draft is saved.
          </Text>
          <Button type="submit" loading={submitting}>
            Create draft
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
