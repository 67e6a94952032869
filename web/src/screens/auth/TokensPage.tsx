import { Alert, Badge, Button, Code, CopyButton, Group, Paper, Select, Stack, Table, TextInput, Title } from "@mantine/core";
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
import { EXPIRY_CHOICES, expiryFrom, tokenStatus, type TokenStatus } from "./tokens";
import { READABLE_ALERT } from "./readable";

type ApiToken = components["schemas"]["ApiTokenRead"];
type CreatedToken = components["schemas"]["ApiTokenSecretRead"];

const TOKENS = ["api-tokens", "mine"] as const;

export function TokensPage() {
  const me = useMe();
  // Owners and admins may list the whole firm's tokens; this page is about one's own.
  const tokens = useInfiniteQuery({
    queryKey: TOKENS,
    queryFn: async ({ pageParam }) =>
      data(
        await api.GET("/v1/api-tokens", {
          params: { query: { limit: 50, cursor: pageParam, user_id: me.user.id } },
        }),
      ),
    initialPageParam: null as string | null,
    getNextPageParam: (page) => page.next_cursor ?? null,
  });
  const items = allItems(tokens.data?.pages);

  return (
    <Stack>
      <PageHeader
        title="API tokens"
        description="Personal tokens for scripts and integrations. A token acts as you, with your role: keep it as secret as a password."
      />
      <CreateToken />
      <Paper withBorder p="md" radius="md" component="section" aria-labelledby="your-tokens">
        <Title order={2} size="h4" id="your-tokens" mb="sm">
          Your tokens
        </Title>
        <ProblemAlert error={tokens.error} />
        {tokens.isSuccess && items.length === 0 ? (
          <EmptyState title="No API tokens yet">Create one above when a script needs to use firmflow as you.</EmptyState>
        ) : (
          <TokensTable tokens={items} />
        )}
        <LoadMore {...tokens} />
      </Paper>
    </Stack>
  );
}

function CreateToken() {
  const queryClient = useQueryClient();
  const [created, setCreated] = useState<CreatedToken | null>(null);
  const { form, error, unplaced, submit, submitting } = useApiForm({
    initialValues: { name: "", expires: "never" as string },
  });

  const onSubmit = submit(async ({ name, expires }) => {
    setCreated(null);
    const expires_at = expiryFrom(expires);
    setCreated(data(await api.POST("/v1/api-tokens", { body: { name, ...(expires_at ? { expires_at } : {}) } })));
    form.reset();
    await queryClient.invalidateQueries({ queryKey: TOKENS });
  });

  return (
    <Paper withBorder p="md" radius="md" component="section" aria-labelledby="create-token">
      <Title order={2} size="h4" id="create-token" mb="sm">
        Create a token
      </Title>
      <Stack maw={560}>
        {created && <OnceShownToken token={created} onDismiss={() => setCreated(null)} />}
        <form onSubmit={onSubmit} noValidate>
          <Stack>
            <ProblemAlert error={error} unplaced={unplaced} />
            <TextInput
              label="Name"
              description="What uses it, so you recognise it later (e.g. “Accounting export”)."
              required
              {...form.getInputProps("name")}
            />
            <Select
              label="Expires"
              allowDeselect={false}
              data={EXPIRY_CHOICES.map(({ value, label }) => ({ value, label }))}
              {...form.getInputProps("expires")}
            />
            <Button type="submit" loading={submitting} w="fit-content">
              Create token
            </Button>
          </Stack>
        </form>
      </Stack>
    </Paper>
  );
}

/** The new token, in the one answer that carries it: firmflow keeps only its hash. */
function OnceShownToken({ token, onDismiss }: { token: CreatedToken; onDismiss: () => void }) {
  return (
    <Alert styles={READABLE_ALERT} color="yellow" title={`Copy the token “${token.name}” now`} role="status">
      <Stack gap="xs">
        This is the only time it is shown: firmflow does not keep it. If you lose it, revoke it and create another.
        <Group gap="xs" align="flex-end" wrap="nowrap">
          <TextInput label="New API token" value={token.token} readOnly flex={1} ff="monospace" onFocus={(event) => event.currentTarget.select()} />
          <CopyButton value={token.token}>
            {({ copied, copy }) => (
              <Button variant="default" onClick={copy}>
                {copied ? "Copied" : "Copy"}
              </Button>
            )}
          </CopyButton>
        </Group>
        <Button variant="default" size="compact-sm" w="fit-content" onClick={onDismiss}>
          I have stored it
        </Button>
      </Stack>
    </Alert>
  );
}

const STATUS_BADGES: Record<TokenStatus, { label: string; color: string }> = {
  active: { label: "Active", color: "green" },
  revoked: { label: "Revoked", color: "gray" },
  expired: { label: "Expired", color: "yellow" },
};

function TokensTable({ tokens }: { tokens: ApiToken[] }) {
  const { firm } = useMe();
  return (
    <Table.ScrollContainer minWidth={760}>
      <Table striped verticalSpacing="sm" aria-label="Your API tokens">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Name</Table.Th>
            <Table.Th>Starts with</Table.Th>
            <Table.Th>Created</Table.Th>
            <Table.Th>Last used</Table.Th>
            <Table.Th>Expires</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th>Action</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {tokens.map((token) => {
            const status = tokenStatus(token);
            return (
              <Table.Tr key={token.id} data-testid={`token-${token.name}`}>
                <Table.Td>{token.name}</Table.Td>
                <Table.Td>
                  <Code>{token.prefix}…</Code>
                </Table.Td>
                <Table.Td>{formatDateTime(token.created_at, firm.time_zone)}</Table.Td>
                <Table.Td>{formatDateTime(token.last_used_at, firm.time_zone)}</Table.Td>
                <Table.Td>{token.expires_at ? formatDateTime(token.expires_at, firm.time_zone) : "Never"}</Table.Td>
                <Table.Td>
                  <Badge color={STATUS_BADGES[status].color} variant="light">
                    {STATUS_BADGES[status].label}
                  </Badge>
                </Table.Td>
                <Table.Td>{status === "active" ? <RevokeToken token={token} /> : "—"}</Table.Td>
              </Table.Tr>
            );
          })}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

function RevokeToken({ token }: { token: ApiToken }) {
  const queryClient = useQueryClient();
  return (
    <ConfirmAction
      label="Revoke"
      title={`Revoke “${token.name}”?`}
      size="xs"
      consequence="The token stops working at once: every script or integration using it is refused from now on. This cannot be undone; create a new token if one is needed again."
      onConfirm={async () => {
        await api.DELETE("/v1/api-tokens/{token_id}", { params: { path: { token_id: token.id } } });
        await queryClient.invalidateQueries({ queryKey: TOKENS });
      }}
    />
  );
}
