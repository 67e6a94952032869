import { Button, Group, Modal, NumberInput, Paper, Select, SimpleGrid, Stack, Table, Text, TextInput, Title } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { notifications } from "@mantine/notifications";
import { useInfiniteQuery, useQueryClient } from "@tanstack/react-query";

import { keys } from "./queries";
import { typeLabel } from "./search";
import type { RetentionPolicyRead } from "./types";
import { api, data } from "@/api/client";
import { ConfirmAction } from "@/components/ConfirmAction";
import { EmptyState } from "@/components/EmptyState";
import { LoadMore, allItems } from "@/components/LoadMore";
import { ProblemAlert } from "@/components/ProblemAlert";
import { useApiForm } from "@/components/useApiForm";

const TRIGGERS = [
  { value: "created", label: "after the document was created" },
  { value: "client_archived", label: "after its client was archived" },
] as const;
type Trigger = (typeof TRIGGERS)[number]["value"];

function isTrigger(value: string): value is Trigger {
  return TRIGGERS.some((trigger) => trigger.value === value);
}

export function triggerLabel(trigger: string): string {
  return TRIGGERS.find((candidate) => candidate.value === trigger)?.label ?? trigger;
}

/** "3650 days" reads better as years where it is a whole number of them. */
export function periodLabel(days: number): string {
  if (days % 365 === 0) return `${days / 365} year${days === 365 ? "" : "s"}`;
  return `${days} day${days === 1 ? "" : "s"}`;
}

interface PolicyValues extends Record<string, unknown> {
  document_type: string;
  trigger: Trigger;
  retain_days: number | string;
  grace_days: number | string;
  description: string;
}

function policyBody(values: PolicyValues) {
  return {
    document_type: values.document_type.trim(),
    trigger: values.trigger,
    retain_days: Number(values.retain_days),
    grace_days: values.grace_days === "" ? 30 : Number(values.grace_days),
    description: values.description.trim() || null,
  };
}

export function RetentionPolicies({ manager }: { manager: boolean }) {
  const policies = useInfiniteQuery({
    queryKey: keys.policies,
    queryFn: async ({ pageParam }) =>
      data(await api.GET("/v1/retention-policies", { params: { query: { cursor: pageParam } } })),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const items = allItems(policies.data?.pages);

  return (
    <Paper withBorder p="md" component="section" aria-labelledby="retention-policies">
      <Title order={2} size="h4" id="retention-policies" mb="xs">
        Retention policies
      </Title>
      <Text size="sm" c="gray.7" mb="sm">
        Each type of document is kept for its period, then the nightly sweep reports it and deletes it once the grace
        period has passed too. A legal hold stops it; documents of a type without a policy are kept.
      </Text>
      <Stack gap="md">
        {manager && <NewPolicy />}
        <ProblemAlert error={policies.error} />
        {policies.isSuccess && items.length === 0 ? (
          <EmptyState title="No retention policy">
            Every document is kept until someone deletes it.{" "}
            {manager ? "Add a policy above." : "An owner or an admin adds policies."}
          </EmptyState>
        ) : (
          <Table.ScrollContainer minWidth={640}>
            <Table striped aria-label="Retention policies">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Type</Table.Th>
                  <Table.Th>Kept for</Table.Th>
                  <Table.Th>Grace</Table.Th>
                  <Table.Th>Description</Table.Th>
                  {manager && <Table.Th>Actions</Table.Th>}
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {items.map((policy) => (
                  <Table.Tr key={policy.id}>
                    <Table.Td>{typeLabel(policy.document_type)}</Table.Td>
                    <Table.Td>
                      {periodLabel(policy.retain_days)} {triggerLabel(policy.trigger)}
                    </Table.Td>
                    <Table.Td>{periodLabel(policy.grace_days)}</Table.Td>
                    <Table.Td>{policy.description ?? "—"}</Table.Td>
                    {manager && (
                      <Table.Td>
                        <Group gap="xs" wrap="nowrap">
                          <EditPolicy policy={policy} />
                          <DeletePolicy policy={policy} />
                        </Group>
                      </Table.Td>
                    )}
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
        <LoadMore {...policies} />
      </Stack>
    </Paper>
  );
}

function PolicyFields({ form }: { form: ReturnType<typeof useApiForm<PolicyValues>>["form"] }) {
  return (
    <SimpleGrid cols={{ base: 1, sm: 2 }} spacing="sm">
      <TextInput label="Document type" placeholder="tax_return" required {...form.getInputProps("document_type")} key={form.key("document_type")} />
      <Select
        label="Counted from"
        data={TRIGGERS.map((trigger) => ({ ...trigger }))}
        allowDeselect={false}
        {...form.getInputProps("trigger")}
        onChange={(value) => {
          if (value && isTrigger(value)) form.setFieldValue("trigger", value);
        }}
        key={form.key("trigger")}
      />
      <NumberInput label="Kept for (days)" min={1} allowDecimal={false} required {...form.getInputProps("retain_days")} key={form.key("retain_days")} />
      <NumberInput
        label="Grace period (days)"
        description="Between the sweep's report and the deletion"
        min={0}
        allowDecimal={false}
        {...form.getInputProps("grace_days")}
        key={form.key("grace_days")}
      />
      <TextInput label="Description" {...form.getInputProps("description")} key={form.key("description")} />
    </SimpleGrid>
  );
}

function NewPolicy() {
  const queryClient = useQueryClient();
  const policyForm = useApiForm<PolicyValues>({
    initialValues: { document_type: "", trigger: "created", retain_days: "", grace_days: 30, description: "" },
  });
  const create = policyForm.submit(async (values) => {
    data(await api.POST("/v1/retention-policies", { body: policyBody(values) }));
    notifications.show({ message: `${typeLabel(values.document_type)} has a retention policy.`, color: "green" });
    policyForm.form.reset();
    await queryClient.invalidateQueries({ queryKey: keys.policies });
    await queryClient.invalidateQueries({ queryKey: keys.preview });
  });
  return (
    <form onSubmit={create} noValidate aria-label="New retention policy">
      <PolicyFields form={policyForm.form} />
      <ProblemAlert error={policyForm.error} unplaced={policyForm.unplaced} />
      <Button type="submit" mt="sm" loading={policyForm.submitting}>
        Add policy
      </Button>
    </form>
  );
}

function EditPolicy({ policy }: { policy: RetentionPolicyRead }) {
  const [opened, { open, close }] = useDisclosure(false);
  const queryClient = useQueryClient();
  const policyForm = useApiForm<PolicyValues>({
    initialValues: {
      document_type: policy.document_type,
      trigger: isTrigger(policy.trigger) ? policy.trigger : "created",
      retain_days: policy.retain_days,
      grace_days: policy.grace_days,
      description: policy.description ?? "",
    },
  });
  const save = policyForm.submit(async (values) => {
    data(
      await api.PATCH("/v1/retention-policies/{policy_id}", {
        params: { path: { policy_id: policy.id } },
        body: policyBody(values),
      }),
    );
    notifications.show({ message: "The policy is saved.", color: "green" });
    close();
    await queryClient.invalidateQueries({ queryKey: keys.policies });
    await queryClient.invalidateQueries({ queryKey: keys.preview });
  });
  return (
    <>
      <Button size="xs" variant="default" onClick={open} aria-label={`Edit the policy for ${policy.document_type}`}>
        Edit
      </Button>
      <Modal opened={opened} onClose={close} title={`Retention of ${typeLabel(policy.document_type)}`} size="lg" closeButtonProps={{ "aria-label": "Close" }}>
        <form onSubmit={save} noValidate>
          <PolicyFields form={policyForm.form} />
          <ProblemAlert error={policyForm.error} unplaced={policyForm.unplaced} />
          <Group justify="flex-end" mt="md">
            <Button variant="default" onClick={close}>
              Cancel
            </Button>
            <Button type="submit" loading={policyForm.submitting}>
              Save policy
            </Button>
          </Group>
        </form>
      </Modal>
    </>
  );
}

function DeletePolicy({ policy }: { policy: RetentionPolicyRead }) {
  const queryClient = useQueryClient();
  return (
    <ConfirmAction
      size="xs"
      label="Delete"
      aria-label={`Delete the policy for ${policy.document_type}`}
      title={`Delete the retention policy for ${typeLabel(policy.document_type)}?`}
      consequence="Documents of this type are then kept until someone deletes them; what the sweep reported but has not deleted yet is no longer deleted."
      onConfirm={async () => {
        data(await api.DELETE("/v1/retention-policies/{policy_id}", { params: { path: { policy_id: policy.id } } }));
        await queryClient.invalidateQueries({ queryKey: keys.policies });
        await queryClient.invalidateQueries({ queryKey: keys.preview });
      }}
    />
  );
}
