import { notifications } from "@mantine/notifications";
import { Button, Modal } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { useQueryClient } from "@tanstack/react-query";

import { ClientForm, clientBody, clientValues, type ClientValues } from "./ClientForm";
import { keys, type Client } from "./queries";
import { api, data } from "@/api/client";
import { ConfirmAction } from "@/components/ConfirmAction";
import { useApiForm } from "@/components/useApiForm";

/** After a change: the client as the API now has it, and everything shown under it again. */
function useClientChanged(clientId: string) {
  const queryClient = useQueryClient();
  return async (client?: Client) => {
    if (client) queryClient.setQueryData(keys.client(clientId), client);
    await queryClient.invalidateQueries({ queryKey: keys.clients });
  };
}

export function EditClientButton({ client }: { client: Client }) {
  const [opened, { open, close }] = useDisclosure(false);
  if (client.archived_at) return null;
  return (
    <>
      <Button onClick={open}>Edit</Button>
      <Modal opened={opened} onClose={close} title={`Edit ${client.name}`} size="lg">
        <EditClientForm client={client} onDone={close} />
      </Modal>
    </>
  );
}

function EditClientForm({ client, onDone }: { client: Client; onDone: () => void }) {
  const changed = useClientChanged(client.id);
  const form = useApiForm<ClientValues>({ initialValues: clientValues(client) });
  const save = async (values: ClientValues) => {
    const updated = data(
      await api.PATCH("/v1/clients/{client_id}", {
        params: { path: { client_id: client.id } },
        body: clientBody(values),
      }),
    );
    await changed(updated);
    notifications.show({ color: "green", message: "The client was saved." });
    onDone();
  };
  return <ClientForm api={form} onSubmit={save} submitLabel="Save" onCancel={onDone} />;
}

export function ArchiveToggle({ client }: { client: Client }) {
  const changed = useClientChanged(client.id);
  const path = { params: { path: { client_id: client.id } } };
  if (client.archived_at) {
    return (
      <ConfirmAction
        label="Unarchive"
        title={`Unarchive ${client.name}?`}
        confirmColor="blue"
        consequence="The client comes back in the client list and can be edited again, contacts included."
        onConfirm={async () => changed(data(await api.POST("/v1/clients/{client_id}/unarchive", path)))}
      />
    );
  }
  return (
    <ConfirmAction
      label="Archive"
      title={`Archive ${client.name}?`}
      consequence={
        <>
          Archiving hides the client from the client list (the “Archived clients only” filter still finds it) and
          makes it read-only: its details and contacts cannot change until it is unarchived. Its invoices, payments,
          tasks and timeline stay as they are. You can unarchive it at any time.
        </>
      }
      onConfirm={async () => changed(data(await api.POST("/v1/clients/{client_id}/archive", path)))}
    />
  );
}

export function DunningToggle({ client }: { client: Client }) {
  const changed = useClientChanged(client.id);
  const path = { params: { path: { client_id: client.id } } };
  if (client.dunning_paused) {
    return (
      <ConfirmAction
        label="Resume reminders"
        title={`Resume payment reminders for ${client.name}?`}
        confirmColor="blue"
        consequence="Each open invoice of this client picks its reminder schedule up again under the firm's dunning policy; invoices paused one by one stay paused."
        onConfirm={async () => {
          await api.POST("/v1/clients/{client_id}/dunning/resume", path);
          await changed();
        }}
      />
    );
  }
  return (
    <ConfirmAction
      label="Pause reminders"
      title={`Pause payment reminders for ${client.name}?`}
      confirmColor="orange"
      consequence="No payment reminder, late fee or collections step is sent for any invoice of this client until you resume. Invoices stay due and can still be paid."
      onConfirm={async () => {
        await api.POST("/v1/clients/{client_id}/dunning/pause", path);
        await changed();
      }}
    />
  );
}
