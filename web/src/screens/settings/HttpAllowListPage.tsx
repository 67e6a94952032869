import { notifications } from "@mantine/notifications";
import { Button, Code, Group, List, Loader, Paper, Stack, Table, Text, TextInput, Title } from "@mantine/core";
import { useQuery, useQueryClient } from "@tanstack/react-query";

import { api, data } from "@/api/client";
import { useMe } from "@/app/session";
import { ConfirmAction } from "@/components/ConfirmAction";
import { EmptyState } from "@/components/EmptyState";
import { PageHeader } from "@/components/PageHeader";
import { ProblemAlert } from "@/components/ProblemAlert";
import { useApiForm } from "@/components/useApiForm";

const ALLOWLIST = ["http-allowlist"] as const;

export function HttpAllowListPage() {
  const me = useMe();
  const manager = me.user.role === "owner" || me.user.role === "admin";
  const allowlist = useQuery({
    queryKey: ALLOWLIST,
    queryFn: async () => data(await api.GET("/v1/firm/http-allowlist")),
  });
  const entries = allowlist.data?.entries ?? [];

  return (
    <Stack>
      <PageHeader
        title="HTTP allow-list"
        description="Internal hosts your automations' HTTP requests may reach. Public addresses need no entry."
      />
      <Paper withBorder p="md" radius="md">
        <Text size="sm">
          HTTP request steps are refused when they call an internal address (loopback, a private network,
          link-local). Add here only what automations must reach inside your network:
        </Text>
        <List size="sm" mt="xs">
          <List.Item>
            a host name, matched exactly: <Code>crm.internal.example</Code>
          </List.Item>
          <List.Item>
            an IP address: <Code>10.1.2.3</Code>
          </List.Item>
          <List.Item>
            a network: <Code>10.20.0.0/16</Code> (no broader than /8, or /7 for IPv6)
          </List.Item>
        </List>
      </Paper>
      <ProblemAlert error={allowlist.error} />
      {allowlist.isPending && <Loader aria-label="Loading the allow-list" />}
      {allowlist.isSuccess && manager && <AddEntry key={entries.join(" ")} entries={entries} />}
      {allowlist.isSuccess && (
        <Paper withBorder p="md" radius="md" component="section" aria-labelledby="allowed">
          <Title order={2} size="h4" id="allowed" mb="sm">
            Allowed ({entries.length} of 100)
          </Title>
          {entries.length === 0 ? (
            <EmptyState title="Nothing internal is allowed">
              Automations reach public addresses only. Add a host above if one must call a service inside your
              network.
            </EmptyState>
          ) : (
            <Table striped aria-label="Allowed hosts, addresses and networks">
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Host, address or network</Table.Th>
                  {manager && <Table.Th>Actions</Table.Th>}
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {entries.map((entry) => (
                  <Table.Tr key={entry}>
                    <Table.Td>
                      <Code>{entry}</Code>
                    </Table.Td>
                    {manager && (
                      <Table.Td>
                        <RemoveEntry entry={entry} entries={entries} />
                      </Table.Td>
                    )}
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          )}
        </Paper>
      )}
    </Stack>
  );
}

/**
 * The API replaces the whole list, and names a bad entry by its index (/entries/3): the form
 * holds the saved entries plus the new one, so that error lands on the field being typed in.
 */
function AddEntry({ entries }: { entries: string[] }) {
  const queryClient = useQueryClient();
  const index = entries.length;
  const { form, error, unplaced, submit, submitting } = useApiForm<{ entries: string[] }>({
    initialValues: { entries: [...entries, ""] },
  });
  const add = submit(async (values) => {
    const saved = data(await api.PATCH("/v1/firm/http-allowlist", { body: { entries: values.entries } }));
    notifications.show({ message: `${saved.entries.at(-1) ?? "The entry"} is allowed.`, color: "green" });
    await queryClient.invalidateQueries({ queryKey: ALLOWLIST });
  });
  return (
    <Paper withBorder p="md" radius="md" component="section" aria-labelledby="add-host">
      <Title order={2} size="h4" id="add-host" mb="sm">
        Allow a host
      </Title>
      <form onSubmit={add} noValidate>
        <Group align="flex-start">
          <TextInput
            label="Host, address or network"
            required
            w={360}
            {...form.getInputProps(`entries.${index}`)}
            key={form.key(`entries.${index}`)}
          />
          <Button type="submit" loading={submitting} mt={24}>
            Allow
          </Button>
        </Group>
        <ProblemAlert error={error} unplaced={unplaced} />
      </form>
    </Paper>
  );
}

function RemoveEntry({ entry, entries }: { entry: string; entries: string[] }) {
  const queryClient = useQueryClient();
  const remove = async () => {
    data(
      await api.PATCH("/v1/firm/http-allowlist", {
        body: { entries: entries.filter((candidate) => candidate !== entry) },
      }),
    );
    notifications.show({ message: `${entry} is no longer allowed.` });
    await queryClient.invalidateQueries({ queryKey: ALLOWLIST });
  };
  return (
    <ConfirmAction
      size="xs"
      label="Remove"
      aria-label={`Remove ${entry}`}
      title={`Stop allowing ${entry}?`}
      consequence={
        <>HTTP request steps of every automation are refused when they call {entry} from then on.</>
      }
      onConfirm={remove}
    />
  );
}
