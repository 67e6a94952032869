import { Badge, Button, Checkbox, Group, Modal, Stack, Table, TextInput, Title } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { useInfiniteQuery, useQueryClient } from "@tanstack/react-query";

import { keys, type Client, type Contact } from "./queries";
import { api, data } from "@/api/client";
import { ConfirmAction } from "@/components/ConfirmAction";
import { EmptyState } from "@/components/EmptyState";
import { LoadMore, allItems } from "@/components/LoadMore";
import { ProblemAlert } from "@/components/ProblemAlert";
import { useApiForm } from "@/components/useApiForm";

interface ContactValues extends Record<string, unknown> {
  name: string;
  title: string;
  email: string;
  phone: string;
  is_primary: boolean;
}

function contactValues(contact?: Contact): ContactValues {
  return {
    name: contact?.name ?? "",
    title: contact?.title ?? "",
    email: contact?.email ?? "",
    phone: contact?.phone ?? "",
    is_primary: contact?.is_primary ?? false,
  };
}

function contactBody(values: ContactValues) {
  const blank = (text: string) => (text.trim() === "" ? null : text);
  return {
    name: values.name,
    title: blank(values.title),
    email: blank(values.email),
    phone: blank(values.phone),
    is_primary: values.is_primary,
  };
}

function contactsKey(clientId: string) {
  return [...keys.client(clientId), "contacts"] as const;
}

export function ContactsSection({ client }: { client: Client }) {
  const readOnly = client.archived_at !== null;
  const contacts = useInfiniteQuery({
    queryKey: contactsKey(client.id),
    queryFn: async ({ pageParam }) =>
      data(
        await api.GET("/v1/clients/{client_id}/contacts", {
          params: { path: { client_id: client.id }, query: { cursor: pageParam } },
        }),
      ),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const items = allItems(contacts.data?.pages);

  return (
    <section aria-labelledby="client-contacts">
      <Group justify="space-between" mb="xs">
        <Title order={2} size="h4" id="client-contacts">
          Contacts
        </Title>
        {!readOnly && <ContactButton client={client} />}
      </Group>
      <ProblemAlert error={contacts.error} />
      {contacts.isSuccess && items.length === 0 ? (
        <EmptyState title="No contacts yet">
          {readOnly
            ? "Unarchive the client to add the people you deal with there."
            : "Add the people you deal with at this client, and mark the one to reach first as primary."}
        </EmptyState>
      ) : (
        <Table.ScrollContainer minWidth={640}>
          <Table aria-label="Contacts" striped>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Name</Table.Th>
                <Table.Th>Title</Table.Th>
                <Table.Th>Email</Table.Th>
                <Table.Th>Phone</Table.Th>
                {!readOnly && <Table.Th>Actions</Table.Th>}
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {items.map((contact) => (
                <Table.Tr key={contact.id}>
                  <Table.Td>
                    {contact.name}{" "}
                    {contact.is_primary && (
                      <Badge variant="light" size="sm">
                        primary
                      </Badge>
                    )}
                  </Table.Td>
                  <Table.Td>{contact.title ?? "—"}</Table.Td>
                  <Table.Td>{contact.email ?? "—"}</Table.Td>
                  <Table.Td>{contact.phone ?? "—"}</Table.Td>
                  {!readOnly && (
                    <Table.Td>
                      <ContactActions client={client} contact={contact} />
                    </Table.Td>
                  )}
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      <LoadMore {...contacts} />
    </section>
  );
}

function useContactsChanged(clientId: string) {
  const queryClient = useQueryClient();
  return () => queryClient.invalidateQueries({ queryKey: contactsKey(clientId) });
}

function ContactActions({ client, contact }: { client: Client; contact: Contact }) {
  const changed = useContactsChanged(client.id);
  const path = { params: { path: { client_id: client.id, contact_id: contact.id } } };
  const makePrimary = async () => {
    await api.PATCH("/v1/clients/{client_id}/contacts/{contact_id}", { ...path, body: { is_primary: true } });
    await changed();
  };
  return (
    <Group gap="xs" wrap="nowrap">
      <ContactButton client={client} contact={contact} />
      {!contact.is_primary && <MakePrimaryButton name={contact.name} onClick={makePrimary} />}
      <ConfirmAction
        label="Remove"
        size="xs"
        title={`Remove ${contact.name}?`}
        consequence={`${contact.name} is deleted from ${client.name}'s contacts; the timeline keeps a record of the removal.${contact.is_primary ? " The client will have no primary contact until you choose another." : ""}`}
        onConfirm={async () => {
          await api.DELETE("/v1/clients/{client_id}/contacts/{contact_id}", path);
          await changed();
        }}
      />
    </Group>
  );
}

function MakePrimaryButton({ name, onClick }: { name: string; onClick: () => Promise<unknown> }) {
  const [busy, { open: start, close: stop }] = useDisclosure(false);
  return (
    <Button
      size="xs"
      variant="default"
      loading={busy}
      aria-label={`Make ${name} the primary contact`}
      onClick={async () => {
        start();
        try {
          await onClick();
        } finally {
          stop();
        }
      }}
    >
      Make primary
    </Button>
  );
}

/** "Add contact", or "Edit" on a contact's row: the form in a dialog. */
function ContactButton({ client, contact }: { client: Client; contact?: Contact }) {
  const [opened, { open, close }] = useDisclosure(false);
  return (
    <>
      {contact ? (
        <Button size="xs" variant="default" onClick={open} aria-label={`Edit ${contact.name}`}>
          Edit
        </Button>
      ) : (
        <Button size="sm" variant="default" onClick={open}>
          Add contact
        </Button>
      )}
      <Modal opened={opened} onClose={close} title={contact ? `Edit ${contact.name}` : `New contact of ${client.name}`}>
        <ContactForm client={client} contact={contact} onDone={close} />
      </Modal>
    </>
  );
}

function ContactForm({ client, contact, onDone }: { client: Client; contact?: Contact; onDone: () => void }) {
  const changed = useContactsChanged(client.id);
  const { form, error, unplaced, submit, submitting } = useApiForm<ContactValues>({
    initialValues: contactValues(contact),
  });
  const save = async (values: ContactValues) => {
    if (contact) {
      await api.PATCH("/v1/clients/{client_id}/contacts/{contact_id}", {
        params: { path: { client_id: client.id, contact_id: contact.id } },
        body: contactBody(values),
      });
    } else {
      await api.POST("/v1/clients/{client_id}/contacts", {
        params: { path: { client_id: client.id } },
        body: contactBody(values),
      });
    }
    await changed();
    onDone();
  };
  return (
    <form onSubmit={submit(save)} noValidate>
      <Stack>
        <ProblemAlert error={error} unplaced={unplaced} />
        <TextInput label="Name" required {...form.getInputProps("name")} />
        <TextInput label="Job title" {...form.getInputProps("title")} />
        <TextInput label="Email" type="email" {...form.getInputProps("email")} />
        <TextInput label="Phone" type="tel" {...form.getInputProps("phone")} />
        <Checkbox
          label="Primary contact"
          description="Making this contact primary makes the client's other contacts not primary."
          {...form.getInputProps("is_primary", { type: "checkbox" })}
        />
        <Group justify="flex-end">
          <Button variant="default" onClick={onDone}>
            Cancel
          </Button>
          <Button type="submit" loading={submitting}>
            {contact ? "Save contact" : "Add contact"}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
