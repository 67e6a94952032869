import { Button, Group, Paper, Select, Stack, Text, TextInput, Title } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";
import { useState } from "react";

import { keys } from "./queries";
import { OTHER_PERSON, fillers } from "./templates";
import { api, data } from "@/api/client";
import type { components } from "@/api/schema";
import { ClientPicker } from "@/components/ClientPicker";
import { ConfirmAction } from "@/components/ConfirmAction";
import { ProblemAlert } from "@/components/ProblemAlert";

type Template = components["schemas"]["TemplateRead"];

/** An envelope from the template for a client: each role filled by one of its contacts or a person typed in. */
export function UseTemplate({ template }: { template: Template }) {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [clientId, setClientId] = useState<string | null>(null);
  const [choices, setChoices] = useState<Record<string, string>>({});
  const [typed, setTyped] = useState<Record<string, { name: string; email: string }>>({});
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const contacts = useQuery({
    queryKey: ["clients", clientId, "contacts"],
    queryFn: async () =>
      data(
        await api.GET("/v1/clients/{client_id}/contacts", {
          params: { path: { client_id: clientId ?? "" }, query: { limit: 100 } },
        }),
      ).items,
    enabled: clientId !== null,
  });
  const options = [
    ...(contacts.data ?? [])
      .filter((contact) => contact.email)
      .map((contact) => ({ value: contact.id, label: `${contact.name} (${contact.email})` })),
    { value: OTHER_PERSON, label: "Someone else…" },
  ];

  const create = async (send: boolean) => {
    const envelope = data(
      await api.POST("/v1/envelope-templates/{template_id}/envelopes", {
        params: { path: { template_id: template.id } },
        body: { client_id: clientId ?? "", recipients: fillers(template.roles, choices, typed), send },
      }),
    );
    await queryClient.invalidateQueries({ queryKey: keys.all });
    notifications.show({ message: send ? `${envelope.title} is on its way.` : `${envelope.title} is a draft.` });
    await navigate(
      send
        ? { to: "/envelopes/$envelopeId", params: { envelopeId: envelope.id } }
        : { to: "/envelopes/$envelopeId/edit", params: { envelopeId: envelope.id } },
    );
  };

  const draft = async () => {
    setBusy(true);
    setError(null);
    try {
      await create(false);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Paper withBorder p="md" component="section" aria-labelledby="template-use">
      <Title order={2} size="h4" id="template-use" mb="xs">
        Use for a client
      </Title>
      <Stack gap="sm">
        <ClientPicker label="Client" value={clientId} onChange={setClientId} w={320} />
        <ProblemAlert error={contacts.error} />
        {clientId &&
          template.roles.map((role) => (
            <Group key={role.key} align="flex-end" gap="xs">
              <Select
                label={`${role.name} is`}
                data={options}
                value={choices[role.key] ?? null}
                onChange={(value) => setChoices({ ...choices, [role.key]: value ?? OTHER_PERSON })}
                w={320}
              />
              {choices[role.key] === OTHER_PERSON && (
                <>
                  <TextInput
                    label={`${role.name}: name`}
                    value={typed[role.key]?.name ?? ""}
                    onChange={(event) =>
                      setTyped({ ...typed, [role.key]: { email: typed[role.key]?.email ?? "", name: event.currentTarget.value } })
                    }
                  />
                  <TextInput
                    label={`${role.name}: email`}
                    type="email"
                    value={typed[role.key]?.email ?? ""}
                    onChange={(event) =>
                      setTyped({ ...typed, [role.key]: { name: typed[role.key]?.name ?? "", email: event.currentTarget.value } })
                    }
                  />
                </>
              )}
            </Group>
          ))}
        {clientId && contacts.isSuccess && options.length === 1 && (
          <Text size="sm" c="gray.7">
            This client has no contact with an email; type each person in, or add contacts on the client&apos;s page.
          </Text>
        )}
        <ProblemAlert error={error} />
        <Group>
          <Button variant="default" disabled={!clientId} loading={busy} onClick={draft}>
            Create a draft
          </Button>
          <ConfirmAction
            label="Create and send"
            title={`Send ${template.title}?`}
            confirmColor="blue"
            variant="filled"
            disabled={!clientId}
            consequence="The envelope is made with the template's documents and fields and the first group receives the signing email now."
            onConfirm={() => create(true)}
          />
        </Group>
      </Stack>
    </Paper>
  );
}
