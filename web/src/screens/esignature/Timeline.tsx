import { Paper, Table, Text, Title } from "@mantine/core";
import { useInfiniteQuery } from "@tanstack/react-query";

import { keys } from "./queries";
import { eventLabel } from "./status";
import type { EnvelopeRead } from "./types";
import { api, data } from "@/api/client";
import { useMe } from "@/app/session";
import { LoadMore, allItems } from "@/components/LoadMore";
import { ProblemAlert } from "@/components/ProblemAlert";
import { formatDateTime } from "@/lib/format";

/** The envelope's audit trail, oldest first: what the certificate prints, as it happens. */
export function Timeline({ envelope }: { envelope: EnvelopeRead }) {
  const { firm } = useMe();
  const events = useInfiniteQuery({
    queryKey: [...keys.events(envelope.id), envelope.status, envelope.recipients.map((r) => r.status).join()],
    queryFn: async ({ pageParam }) =>
      data(
        await api.GET("/v1/envelopes/{envelope_id}/events", {
          params: { path: { envelope_id: envelope.id }, query: { cursor: pageParam, limit: 100 } },
        }),
      ),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const items = allItems(events.data?.pages);
  const nameOf = (recipientId: string | null | undefined) =>
    envelope.recipients.find((recipient) => recipient.id === recipientId)?.name;

  return (
    <Paper withBorder p="md" component="section" aria-labelledby="envelope-timeline">
      <Title order={2} size="h4" id="envelope-timeline" mb={4}>
        Timeline
      </Title>
      <Text size="sm" c="gray.7" mb="sm">
        Times in {firm.time_zone}. The audit certificate prints the same events in UTC.
      </Text>
      <ProblemAlert error={events.error} />
      <Table.ScrollContainer minWidth={720}>
        <Table striped aria-label="Timeline">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>When</Table.Th>
              <Table.Th>Event</Table.Th>
              <Table.Th>Who</Table.Th>
              <Table.Th>IP address</Table.Th>
              <Table.Th>By</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {items.map((event) => (
              <Table.Tr key={event.id} data-event={event.kind}>
                <Table.Td>{formatDateTime(event.occurred_at, firm.time_zone)}</Table.Td>
                <Table.Td>{eventLabel(event.kind)}</Table.Td>
                <Table.Td>
                  {[nameOf(event.recipient_id), event.email].filter(Boolean).join(" · ") || "—"}
                </Table.Td>
                <Table.Td>{event.ip_address ?? "—"}</Table.Td>
                <Table.Td>{event.source}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      <LoadMore {...events} />
    </Paper>
  );
}
