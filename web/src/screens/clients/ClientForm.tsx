import { Button, Group, Select, SimpleGrid, Stack, TagsInput, TextInput } from "@mantine/core";

import type { Client } from "./queries";
import { CLIENT_KINDS, capitalized, CLIENT_STATUSES, type ClientKind, type ClientStatus } from "./search";
import type { ApiForm } from "@/components/useApiForm";
import { ProblemAlert } from "@/components/ProblemAlert";

export interface ClientValues extends Record<string, unknown> {
  name: string;
  kind: ClientKind;
  email: string;
  phone: string;
  status: ClientStatus;
  tags: string[];
  external_ref: string;
}

export function clientValues(client?: Client): ClientValues {
  return {
    name: client?.name ?? "",
    kind: client?.kind ?? "organization",
    email: client?.email ?? "",
    phone: client?.phone ?? "",
    status: client?.status ?? "prospect",
    tags: client?.tags ?? [],
    external_ref: client?.external_ref ?? "",
  };
}

/** The body the API takes: a blank optional field is sent as null, which clears it. */
export function clientBody(values: ClientValues) {
  const blank = (text: string) => (text.trim() === "" ? null : text);
  return {
    name: values.name,
    kind: values.kind,
    email: blank(values.email),
    phone: blank(values.phone),
    status: values.status,
    tags: values.tags,
    external_ref: blank(values.external_ref),
  };
}

interface Props {
  api: ApiForm<ClientValues>;
  onSubmit: (values: ClientValues) => Promise<unknown>;
  submitLabel: string;
  onCancel?: () => void;
}

/** The client's fields; the API checks them and each error lands on its field. */
export function ClientForm({ api: { form, error, unplaced, submit, submitting }, onSubmit, submitLabel, onCancel }: Props) {
  return (
    <form onSubmit={submit(onSubmit)} noValidate>
      <Stack>
        <ProblemAlert error={error} unplaced={unplaced} />
        <TextInput label="Name" required {...form.getInputProps("name")} />
        <SimpleGrid cols={{ base: 1, sm: 2 }}>
          <Select
            label="Kind"
            data={CLIENT_KINDS.map((kind) => ({ value: kind, label: kind === "person" ? "Person" : "Organization" }))}
            allowDeselect={false}
            {...form.getInputProps("kind")}
           
          />
          <Select
            label="Status"
            data={CLIENT_STATUSES.map((status) => ({ value: status, label: capitalized(status) }))}
            allowDeselect={false}
            {...form.getInputProps("status")}
           
          />
          <TextInput label="Email" type="email" {...form.getInputProps("email")} />
          <TextInput label="Phone" type="tel" {...form.getInputProps("phone")} />
        </SimpleGrid>
        <TagsInput
          label="Tags"
          description="Press Enter after each tag."
          {...form.getInputProps("tags")}
         
        />
        <TextInput
          label="External reference"
          description="Your own id for the client, such as its number in your accounting system."
          {...form.getInputProps("external_ref")}
         
        />
        <Group justify="flex-end">
          {onCancel && (
            <Button variant="default" onClick={onCancel}>
              Cancel
            </Button>
          )}
          <Button type="submit" loading={submitting}>
            {submitLabel}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
