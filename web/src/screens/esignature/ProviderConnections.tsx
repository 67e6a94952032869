import { Button, Code, Group, Paper, Select, Stack, Text, TextInput, Title } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useQuery, useQueryClient } from "@tanstack/react-query";

import { connectionsQuery, keys } from "./queries";
import { PROVIDER_LABELS } from "./status";
import { api, data } from "@/api/client";
import type { components } from "@/api/schema";
import { ConfirmAction } from "@/components/ConfirmAction";
import { ProblemAlert } from "@/components/ProblemAlert";
import { useApiForm } from "@/components/useApiForm";

type Connection = components["schemas"]["EsignatureConnectionRead"];
type Provider = "docusign" | "dropbox_sign";

const PROVIDERS: { provider: Provider; baseUrl: string; secrets: string }[] = [
  { provider: "docusign", baseUrl: "https://demo.docusign.net", secrets: '{"access_token": "…", "hmac_key": "…"}' },
  { provider: "dropbox_sign", baseUrl: "https://api.hellosign.com", secrets: '{"api_key": "…"}' },
];

/** DocuSign and Dropbox Sign: connected through a vault credential (secrets are never shown here). */
export function ProviderConnections() {
  const connections = useQuery(connectionsQuery);
  const credentials = useQuery({
    queryKey: ["credentials", "esignature-choices"],
    queryFn: async () => data(await api.GET("/v1/credentials", { params: { query: { limit: 100 } } })).items,
    staleTime: 30_000,
  });
  const choices = (credentials.data ?? []).map((credential) => ({ value: credential.id, label: credential.name }));

  return (
    <Paper withBorder p="md" component="section" aria-labelledby="esignature-providers">
      <Title order={2} size="h4" id="esignature-providers" mb={4}>
        Providers
      </Title>
      <Text size="sm" c="gray.7" mb="sm">
        Envelopes use firmflow&apos;s own signing page unless another provider is chosen. To offer DocuSign or Dropbox Sign,
        store its secrets as a credential (Settings → Credentials), then connect it here.
      </Text>
      <ProblemAlert error={connections.error ?? credentials.error} />
      <Stack gap="lg">
        {PROVIDERS.map((spec) => (
          <ProviderConnection
            key={spec.provider}
            {...spec}
            connection={connections.data?.items.find((item) => item.provider === spec.provider)}
            choices={choices}
          />
        ))}
      </Stack>
    </Paper>
  );
}

interface Props {
  provider: Provider;
  baseUrl: string;
  secrets: string;
  connection: Connection | undefined;
  choices: { value: string; label: string }[];
}

function ProviderConnection({ provider, baseUrl, secrets, connection, choices }: Props) {
  const queryClient = useQueryClient();
  const name = PROVIDER_LABELS[provider] ?? provider;
  const { form, error, unplaced, submit, submitting } = useApiForm({
    initialValues: {
      credential_id: connection?.credential_id ?? "",
      account_id: connection?.account_id ?? "",
      base_url: connection?.base_url ?? baseUrl,
    },
  });
  const save = submit(async (values) => {
    data(
      await api.PUT("/v1/firm/esignature-connections/{provider}", {
        params: { path: { provider } },
        body: { credential_id: values.credential_id, account_id: values.account_id.trim() || null, base_url: values.base_url.trim() },
      }),
    );
    notifications.show({ message: `${name} is connected.` });
    await queryClient.invalidateQueries({ queryKey: keys.connections });
  });

  return (
    <form onSubmit={save} noValidate aria-label={name}>
      <Stack gap="xs">
        <Group justify="space-between">
          <Title order={3} size="h5">
            {name}
          </Title>
          <Text size="sm" c={connection ? "green.9" : "gray.7"}>
            {connection ? "Connected" : "Not connected"}
          </Text>
        </Group>
        <Text size="xs" c="gray.7">
          The credential&apos;s value is JSON: <Code>{secrets}</Code>
        </Text>
        <Group grow align="flex-start">
          <Select label="Credential" required data={choices} {...form.getInputProps("credential_id")} />
          {provider === "docusign" && <TextInput label="Account id" {...form.getInputProps("account_id")} />}
          <TextInput label="API base URL" required {...form.getInputProps("base_url")} />
        </Group>
        {connection && (
          <Text size="xs">
            Webhook address to give {name}: <Code>{connection.webhook_url}</Code>
          </Text>
        )}
        <ProblemAlert error={error} unplaced={unplaced} />
        <Group>
          <Button type="submit" loading={submitting}>
            {connection ? `Save ${name}` : `Connect ${name}`}
          </Button>
          {connection && (
            <ConfirmAction
              label={`Disconnect ${name}`}
              title={`Disconnect ${name}?`}
              consequence={`New envelopes can no longer use ${name}. Envelopes already sent there keep the state they have but receive no more updates.`}
              onConfirm={async () => {
                data(await api.DELETE("/v1/firm/esignature-connections/{provider}", { params: { path: { provider } } }));
                await queryClient.invalidateQueries({ queryKey: keys.connections });
              }}
            />
          )}
        </Group>
      </Stack>
    </form>
  );
}
