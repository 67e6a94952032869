import { Badge, Code, Paper, Stack, Table, Text } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useInfiniteQuery, useQueryClient } from "@tanstack/react-query";

import { api, data } from "@/api/client";
import type { paths } from "@/api/schema";
import { useMe } from "@/app/session";
import { ConfirmAction } from "@/components/ConfirmAction";
import { EmptyState } from "@/components/EmptyState";
import { allItems, LoadMore } from "@/components/LoadMore";
import { PageHeader } from "@/components/PageHeader";
import { ProblemAlert } from "@/components/ProblemAlert";
import { formatDateTime } from "@/lib/format";

type CredentialPage = paths["/v1/me/sessions"]["get"]["responses"][200]["content"]["application/json"];
type Credential = CredentialPage["items"][number];

const SESSIONS = ["me", "sessions"] as const;

export function SessionsPage() {
  const queryClient = useQueryClient();
  const credentials = useInfiniteQuery({
    queryKey: SESSIONS,
    queryFn: async ({ pageParam }) =>
      data(await api.GET("/v1/me/sessions", { params: { query: { limit: 50, cursor: pageParam } } })),
    initialPageParam: null as string | null,
    getNextPageParam: (page) => page.next_cursor ?? null,
  });
  const items = allItems(credentials.data?.pages);

  const revokeOthers = async () => {
    const revoked = data(await api.POST("/v1/me/sessions/revoke-all"));
    notifications.show({
      color: "green",
      message: `Ended ${revoked.sessions} other sign-in${revoked.sessions === 1 ? "" : "s"} and revoked ${revoked.api_tokens} API token${revoked.api_tokens === 1 ? "" : "s"}.`,
    });
    await queryClient.invalidateQueries({ queryKey: SESSIONS });
  };

  return (
    <Stack>
      <PageHeader
        title="Sessions"
        description="Where you are signed in, and your API tokens still in use. End anything you do not recognise."
        actions={
          <ConfirmAction
            label="End all other sessions"
            title="End all other sessions?"
            consequence="Every other browser and device signed in as you is signed out, and every API token of yours is revoked: scripts using them stop working. This browser stays signed in."
            onConfirm={revokeOthers}
          />
        }
      />
      <Paper withBorder p="md" radius="md">
        <ProblemAlert error={credentials.error} />
        {credentials.isSuccess && items.length === 0 ? (
          <EmptyState title="Nothing is signed in as you">
            Every sign-in and API token of yours has ended or expired.
          </EmptyState>
        ) : (
          <CredentialsTable credentials={items} onRevoked={() => queryClient.invalidateQueries({ queryKey: SESSIONS })} />
        )}
        <LoadMore {...credentials} />
      </Paper>
    </Stack>
  );
}

function CredentialsTable({
  credentials,
  onRevoked,
}: {
  credentials: Credential[];
  onRevoked: () => Promise<unknown>;
}) {
  const { firm } = useMe();
  return (
    <Table.ScrollContainer minWidth={720}>
      <Table striped verticalSpacing="sm" aria-label="Your sign-ins and API tokens">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>What</Table.Th>
            <Table.Th>Started</Table.Th>
            <Table.Th>Last used</Table.Th>
            <Table.Th>Ends</Table.Th>
            <Table.Th>Action</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {credentials.map((credential) => (
            <Table.Tr key={credential.id} data-testid={`credential-${credential.prefix}`}>
              <Table.Td>
                <Stack gap={2}>
                  <Text size="sm">
                    {credential.kind === "session" ? "Sign-in" : `API token “${credential.name ?? ""}”`}{" "}
                    {credential.current && (
                      <Badge variant="light" size="sm">
                        {credential.kind === "session" ? "This browser" : "This token"}
                      </Badge>
                    )}
                  </Text>
                  <Code w="fit-content">{credential.prefix}…</Code>
                </Stack>
              </Table.Td>
              <Table.Td>{formatDateTime(credential.created_at, firm.time_zone)}</Table.Td>
              <Table.Td>{formatDateTime(credential.last_used_at, firm.time_zone)}</Table.Td>
              <Table.Td>{credential.expires_at ? formatDateTime(credential.expires_at, firm.time_zone) : "When revoked"}</Table.Td>
              <Table.Td>
                {credential.current ? (
                  <Text size="sm" c="gray.7">
                    In use now
                  </Text>
                ) : (
                  <RevokeCredential credential={credential} onRevoked={onRevoked} />
                )}
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

function RevokeCredential({ credential, onRevoked }: { credential: Credential; onRevoked: () => Promise<unknown> }) {
  const { firm } = useMe();
  const what =
    credential.kind === "session"
      ? `the sign-in started ${formatDateTime(credential.created_at, firm.time_zone)}`
      : `the API token “${credential.name ?? credential.prefix}”`;
  return (
    <ConfirmAction
      label={credential.kind === "session" ? "End sign-in" : "Revoke"}
      title={credential.kind === "session" ? "End this sign-in?" : "Revoke this API token?"}
      size="xs"
      consequence={
        credential.kind === "session"
          ? `This ends ${what}: whoever uses it must sign in again.`
          : `This revokes ${what} at once: scripts using it stop working. It cannot be undone.`
      }
      onConfirm={async () => {
        await api.DELETE("/v1/me/sessions/{session_id}", { params: { path: { session_id: credential.id } } });
        await onRevoked();
      }}
    />
  );
}
