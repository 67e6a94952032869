import { Button, Group, Paper, SegmentedControl, Stack, Table, Text } from "@mantine/core";
import { keepPreviousData, useInfiniteQuery } from "@tanstack/react-query";
import { getRouteApi, Link } from "@tanstack/react-router";

import { keys } from "./queries";
import type { EnvelopeListSearch } from "./search";
import { StatusBadge } from "./badges";
import type { EnvelopeSummary } from "./types";
import { ENVELOPE_STATUSES, PROVIDER_LABELS, STATUS_LABELS, isEnvelopeStatus } from "./status";
import { api, data } from "@/api/client";
import { useMe } from "@/app/session";
import { AnchorLink } from "@/components/AnchorLink";
import { ClientPicker } from "@/components/ClientPicker";
import { EmptyState } from "@/components/EmptyState";
import { LoadMore, allItems } from "@/components/LoadMore";
import { PageHeader } from "@/components/PageHeader";
import { ProblemAlert } from "@/components/ProblemAlert";
import { formatDateTime } from "@/lib/format";

const route = getRouteApi("/app/envelopes");

export function EnvelopesPage() {
  const search = route.useSearch();
  const navigate = route.useNavigate();
  const change = (patch: Partial<EnvelopeListSearch>) =>
    void navigate({ search: (previous) => ({ ...previous, ...patch }), replace: true });
  const envelopes = useInfiniteQuery({
    queryKey: [...keys.all, "list", search],
    queryFn: async ({ pageParam }) =>
      data(
        await api.GET("/v1/envelopes", {
          params: { query: { status: search.status, client_id: search.client_id, cursor: pageParam } },
        }),
      ),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    placeholderData: keepPreviousData,
  });
  const items = allItems(envelopes.data?.pages);

  return (
    <>
      <PageHeader
        title="Envelopes"
        description="Documents sent for signature: who has signed, who is next, and the sealed result."
        actions={
          <>
            <Button variant="default" component={Link} to="/envelope-templates">
              Templates
            </Button>
            <Button variant="default" component={Link} to="/settings/esignature">
              E-signature settings
            </Button>
            <Button component={Link} to="/envelopes/new">
              New envelope
            </Button>
          </>
        }
      />
      <Stack gap="md">
        <Paper withBorder p="sm">
          <Group align="flex-end" wrap="wrap">
            <SegmentedControl
              aria-label="Status"
              data={[
                { value: "all", label: "All" },
                ...ENVELOPE_STATUSES.map((status) => ({ value: status, label: STATUS_LABELS[status] })),
              ]}
              value={search.status ?? "all"}
              onChange={(value) => change({ status: isEnvelopeStatus(value) ? value : undefined })}
            />
            <ClientPicker
              label="Client"
              value={search.client_id ?? null}
              onChange={(clientId) => change({ client_id: clientId ?? undefined })}
              clearable
              w={260}
            />
          </Group>
        </Paper>
        <ProblemAlert error={envelopes.error} />
        {envelopes.isSuccess && items.length === 0 ? (
          <NoEnvelopes filtered={Boolean(search.status || search.client_id)} />
        ) : (
          <EnvelopesTable envelopes={items} />
        )}
        <LoadMore {...envelopes} />
      </Stack>
    </>
  );
}

function NoEnvelopes({ filtered }: { filtered: boolean }) {
  if (filtered) {
    return <EmptyState title="No envelope matches these filters">Choose All, or clear the client, to see every envelope.</EmptyState>;
  }
  return (
    <EmptyState title="No envelopes yet">
      <Stack align="center" gap="xs">
        <Text size="sm">Pick PDFs from the documents, add who signs and in what order, and place their fields.</Text>
        <Button component={Link} to="/envelopes/new">
          Send your first envelope
        </Button>
      </Stack>
    </EmptyState>
  );
}

function EnvelopesTable({ envelopes }: { envelopes: EnvelopeSummary[] }) {
  const { firm } = useMe();
  return (
    <Table.ScrollContainer minWidth={760}>
      <Table striped highlightOnHover aria-label="Envelopes">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Title</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th>Provider</Table.Th>
            <Table.Th>Created</Table.Th>
            <Table.Th>Sent</Table.Th>
            <Table.Th>Expires</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {envelopes.map((envelope) => (
            <Table.Tr key={envelope.id}>
              <Table.Td>
                <AnchorLink to="/envelopes/$envelopeId" params={{ envelopeId: envelope.id }}>
                  {envelope.title}
                </AnchorLink>
              </Table.Td>
              <Table.Td>
                <StatusBadge status={envelope.status} />
              </Table.Td>
              <Table.Td>{PROVIDER_LABELS[envelope.provider] ?? envelope.provider}</Table.Td>
              <Table.Td>{formatDateTime(envelope.created_at, firm.time_zone)}</Table.Td>
              <Table.Td>{formatDateTime(envelope.sent_at, firm.time_zone)}</Table.Td>
              <Table.Td>{formatDateTime(envelope.expires_at, firm.time_zone)}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}
