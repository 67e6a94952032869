import { notifications } from "@mantine/notifications";
import { Paper } from "@mantine/core";
import { useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";

import { ClientForm, clientBody, clientValues, type ClientValues } from "./ClientForm";
import { keys } from "./queries";
import { api, data } from "@/api/client";
import { PageHeader } from "@/components/PageHeader";
import { useApiForm } from "@/components/useApiForm";

export function NewClientPage() {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const form = useApiForm<ClientValues>({ initialValues: clientValues() });

  const create = async (values: ClientValues) => {
    const client = data(await api.POST("/v1/clients", { body: clientBody(values) }));
    queryClient.setQueryData(keys.client(client.id), client);
    await queryClient.invalidateQueries({ queryKey: keys.clients, exact: false, refetchType: "none" });
    notifications.show({ color: "green", message: `${client.name} was created.` });
    await navigate({ to: "/clients/$clientId", params: { clientId: client.id } });
  };

  return (
    <>
      <PageHeader title="New client" description="The API checks every field; a problem shows on its field." />
      <Paper withBorder p="md" maw={720}>
        <ClientForm
          api={form}
          onSubmit={create}
          submitLabel="Create client"
          onCancel={() => void navigate({ to: "/clients" })}
        />
      </Paper>
    </>
  );
}
