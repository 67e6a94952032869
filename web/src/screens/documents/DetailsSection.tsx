import {
  Button,
  Group,
  MultiSelect,
  NumberInput,
  Paper,
  Select,
  SimpleGrid,
  TagsInput,
  TextInput,
  Title,
} from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useQuery, useQueryClient } from "@tanstack/react-query";

import { foldersQuery, keys, usersQuery } from "./queries";
import { isReviewerRole, REVIEWER_ROLES, type ReviewerRole } from "./review";
import type { DocumentRead } from "./types";
import { api, data } from "@/api/client";
import { ClientPicker } from "@/components/ClientPicker";
import { ProblemAlert } from "@/components/ProblemAlert";
import { useApiForm } from "@/components/useApiForm";

interface Values extends Record<string, unknown> {
  title: string;
  document_type: string;
  tags: string[];
  client_id: string | null;
  folder_id: string | null;
  owner_id: string | null;
  reviewer_user_ids: string[];
  reviewer_roles: ReviewerRole[];
  review_quorum: number | string;
}

/** What the document is, who answers for it and who reviews it unless a submission names others: the fields a PATCH changes. */
export function DetailsSection({ document }: { document: DocumentRead }) {
  const queryClient = useQueryClient();
  const users = useQuery(usersQuery);
  const deleted = document.deleted_at !== null && document.deleted_at !== undefined;
  const people = (users.data ?? []).map((user) => ({ value: user.id, label: user.name }));
  const { form, error, unplaced, submit, submitting } = useApiForm<Values>({
    initialValues: {
      title: document.title,
      document_type: document.document_type,
      tags: document.tags,
      client_id: document.client_id ?? null,
      folder_id: document.folder_id ?? null,
      owner_id: document.owner_id ?? null,
      reviewer_user_ids: document.reviewer_user_ids,
      reviewer_roles: document.reviewer_roles.filter(isReviewerRole),
      review_quorum: document.review_quorum,
    },
  });

  const folders = useQuery(foldersQuery(form.getValues().client_id ?? undefined));
  const save = submit(async (values) => {
    const saved = data(
      await api.PATCH("/v1/documents/{document_id}", {
        params: { path: { document_id: document.id } },
        body: {
          title: values.title.trim(),
          document_type: values.document_type.trim(),
          tags: values.tags,
          client_id: values.client_id,
          folder_id: values.folder_id,
          owner_id: values.owner_id,
          reviewer_user_ids: values.reviewer_user_ids,
          reviewer_roles: values.reviewer_roles,
          review_quorum: Number(values.review_quorum) || 1,
        },
      }),
    );
    queryClient.setQueryData(keys.one(document.id), saved);
    form.resetDirty();
    notifications.show({ message: "The details are saved.", color: "green" });
    await queryClient.invalidateQueries({ queryKey: keys.all });
  });

  return (
    <Paper withBorder p="md" component="section" aria-labelledby="document-details">
      <Title order={2} size="h4" id="document-details" mb="sm">
        Details
      </Title>
      <form onSubmit={save} noValidate>
        <fieldset disabled={deleted} style={{ border: 0, padding: 0, margin: 0 }}>
        <SimpleGrid cols={{ base: 1, sm: 2 }} spacing="sm">
          <TextInput label="Title" required {...form.getInputProps("title")} key={form.key("title")} />
          <TextInput
            label="Type"
            description="Retention policies apply by type (e.g. tax_return)"
            {...form.getInputProps("document_type")}
            key={form.key("document_type")}
          />
          <TagsInput label="Tags" {...form.getInputProps("tags")} key={form.key("tags")} />
          <ClientPicker
            label="Client"
            placeholder="The firm's own"
            clearable
            value={form.getValues().client_id}
            onChange={(clientId) => {
              form.setFieldValue("client_id", clientId);
              // A folder belongs to one client: moving the document leaves it.
              form.setFieldValue("folder_id", null);
            }}
            error={form.errors.client_id}
          />
          <Select
            label="Folder"
            placeholder="No folder"
            data={(folders.data ?? []).map((folder) => ({ value: folder.id, label: folder.name }))}
            clearable
            {...form.getInputProps("folder_id")}
            key={form.key("folder_id")}
          />
          <Select
            label="Owner"
            description="A review escalates to them after its deadline"
            placeholder="Nobody"
            data={people}
            searchable
            clearable
            {...form.getInputProps("owner_id")}
            key={form.key("owner_id")}
          />
          <MultiSelect
            label="Default reviewers"
            description="Offered when the document is submitted for review"
            data={people}
            searchable
            {...form.getInputProps("reviewer_user_ids")}
            key={form.key("reviewer_user_ids")}
          />
          <MultiSelect
            label="Default reviewer roles"
            data={REVIEWER_ROLES.map((role) => ({ value: role, label: role }))}
            {...form.getInputProps("reviewer_roles")}
            key={form.key("reviewer_roles")}
          />
          <NumberInput
            label="Default quorum"
            min={1}
            max={50}
            allowDecimal={false}
            {...form.getInputProps("review_quorum")}
            key={form.key("review_quorum")}
          />
        </SimpleGrid>
        <ProblemAlert error={error} unplaced={unplaced} />
        <Group mt="md">
          <Button type="submit" loading={submitting} disabled={!form.isDirty()}>
            Save details
          </Button>
        </Group>
        </fieldset>
      </form>
    </Paper>
  );
}
