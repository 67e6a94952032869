import { notifications } from "@mantine/notifications";
import { Button, Code, Group, Modal, Paper, PasswordInput, Stack, Table, Text, TextInput, Title } from "@mantine/core";
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

// Two schemas are named CredentialRead (sessions has one too); the generator qualifies both.
type Credential = components["schemas"]["api__schemas__credentials__CredentialRead"];

const CREDENTIALS = ["credentials"] as const;

export function CredentialsPage() {
  const credentials = useInfiniteQuery({
    queryKey: CREDENTIALS,
    queryFn: async ({ pageParam }) =>
      data(await api.GET("/v1/credentials", { params: { query: { limit: 50, cursor: pageParam } } })),
    initialPageParam: null as string | null,
    getNextPageParam: (page) => page.next_cursor ?? null,
  });
  const items = allItems(credentials.data?.pages);

  return (
    <Stack>
      <PageHeader
        title="Credentials"
        description="Secrets your automations use (API keys, passwords). A value goes in and is never shown again, not even to you."
      />
      <NewCredential />
      <Paper withBorder p="md" radius="md" component="section" aria-labelledby="vault">
        <Title order={2} size="h4" id="vault" mb="sm">
          Stored credentials
        </Title>
        <ProblemAlert error={credentials.error} />
        {credentials.isSuccess && items.length === 0 ? (
          <EmptyState title="No credentials yet">
            Add one above; automation steps then use it as <Code>{"{{ secrets.name }}"}</Code>.
          </EmptyState>
        ) : (
          <CredentialsTable credentials={items} />
        )}
        <LoadMore {...credentials} />
      </Paper>
    </Stack>
  );
}

function reference(name: string): string {
  return `{{ secrets.${name} }}`;
}

function CredentialsTable({ credentials }: { credentials: Credential[] }) {
  const me = useMe();
  return (
    <Table.ScrollContainer minWidth={720}>
      <Table striped aria-label="Credentials" verticalSpacing="sm">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Name</Table.Th>
            <Table.Th>Description</Table.Th>
            <Table.Th>Use in steps as</Table.Th>
            <Table.Th>Value set</Table.Th>
            <Table.Th>Actions</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {credentials.map((credential) => (
            <Table.Tr key={credential.id}>
              <Table.Td fw={500}>{credential.name}</Table.Td>
              <Table.Td>{credential.description || "—"}</Table.Td>
              <Table.Td>
                <Code>{reference(credential.name)}</Code>
              </Table.Td>
              <Table.Td>{formatDateTime(credential.value_updated_at, me.firm.time_zone)}</Table.Td>
              <Table.Td>
                <CredentialActions credential={credential} />
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

interface NewCredentialValues extends Record<string, unknown> {
  name: string;
  description: string;
  value: string;
}

function NewCredential() {
  const queryClient = useQueryClient();
  const { form, error, unplaced, submit, submitting } = useApiForm<NewCredentialValues>({
    initialValues: { name: "", description: "", value: "" },
  });
  const create = submit(async (values) => {
    try {
      const credential = data(
        await api.POST("/v1/credentials", {
          body: { name: values.name, description: values.description || null, value: values.value },
        }),
      );
      form.reset();
      notifications.show({ message: `Credential ${credential.name} stored.`, color: "green" });
      await queryClient.invalidateQueries({ queryKey: CREDENTIALS });
    } finally {
      // The secret leaves the page whatever the answer: it is typed again, never kept.
      form.setFieldValue("value", "");
    }
  });
  return (
    <Paper withBorder p="md" radius="md" component="section" aria-labelledby="new-credential">
      <Title order={2} size="h4" id="new-credential" mb="sm">
        Add a credential
      </Title>
      <form onSubmit={create} noValidate autoComplete="off">
        <Stack maw={480}>
          <ProblemAlert error={error} unplaced={unplaced} />
          <TextInput
            label="Name"
            description="Lowercase letters, digits and _, starting with a letter: crm_token"
            required
            {...form.getInputProps("name")}
            key={form.key("name")}
          />
          <TextInput label="Description" {...form.getInputProps("description")} key={form.key("description")} />
          <SecretInput label="Value" {...form.getInputProps("value")} key={form.key("value")} />
          <Button type="submit" loading={submitting} w="fit-content">
            Store credential
          </Button>
        </Stack>
      </form>
    </Paper>
  );
}

/** A secret typed in; hidden, never prefilled, never offered to the browser's password manager. */
function SecretInput(props: React.ComponentProps<typeof PasswordInput>) {
  return (
    <PasswordInput
      required
      autoComplete="new-password"
      description="Write-only: stored encrypted and never shown again"
      {...props}
    />
  );
}

function CredentialActions({ credential }: { credential: Credential }) {
  const queryClient = useQueryClient();
  const [rotating, setRotating] = useState(false);
  const remove = async () => {
    await api.DELETE("/v1/credentials/{credential_id}", {
      params: { path: { credential_id: credential.id } },
    });
    notifications.show({ message: `Credential ${credential.name} deleted.` });
    await queryClient.invalidateQueries({ queryKey: CREDENTIALS });
  };
  return (
    <Group gap="xs" wrap="nowrap">
      <Button size="xs" variant="default" onClick={() => setRotating(true)} aria-label={`Replace value of ${credential.name}`}>
        Replace value
      </Button>
      <ConfirmAction
        size="xs"
        label="Delete"
        aria-label={`Delete ${credential.name}`}
        title={`Delete ${credential.name}?`}
        consequence={
          <>
            The value is destroyed. Automation steps that use <Code>{reference(credential.name)}</Code> fail with an
            unknown-credential error from then on.
          </>
        }
        onConfirm={remove}
      />
      <Modal opened={rotating} onClose={() => setRotating(false)} title={`Replace the value of ${credential.name}`} centered>
        <RotateCredential credential={credential} onDone={() => setRotating(false)} />
      </Modal>
    </Group>
  );
}

function RotateCredential({ credential, onDone }: { credential: Credential; onDone: () => void }) {
  const queryClient = useQueryClient();
  const { form, error, unplaced, submit, submitting } = useApiForm<{ value: string }>({
    initialValues: { value: "" },
  });
  const rotate = submit(async (values) => {
    try {
      data(
        await api.PUT("/v1/credentials/{credential_id}/value", {
          params: { path: { credential_id: credential.id } },
          body: { value: values.value },
        }),
      );
      notifications.show({ message: `New value of ${credential.name} stored.`, color: "green" });
      await queryClient.invalidateQueries({ queryKey: CREDENTIALS });
      onDone();
    } finally {
      form.setFieldValue("value", "");
    }
  });
  return (
    <form onSubmit={rotate} noValidate autoComplete="off">
      <Stack>
        <Text size="sm">
          Automation steps that look the credential up after this get the new value. The old one is destroyed.
        </Text>
        <ProblemAlert error={error} unplaced={unplaced} />
        <SecretInput label="New value" {...form.getInputProps("value")} key={form.key("value")} />
        <Group justify="flex-end">
          <Button variant="default" onClick={onDone}>
            Cancel
          </Button>
          <Button type="submit" loading={submitting}>
            Replace value
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
