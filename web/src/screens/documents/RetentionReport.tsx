import { Badge, Paper, Stack, Table, Text, Title } from "@mantine/core";
import { useInfiniteQuery, useQuery } from "@tanstack/react-query";

import { keys } from "./queries";
import { typeLabel } from "./search";
import { api, data } from "@/api/client";
import { useMe } from "@/app/session";
import { AnchorLink } from "@/components/AnchorLink";
import { EmptyState } from "@/components/EmptyState";
import { LoadMore, allItems } from "@/components/LoadMore";
import { ProblemAlert } from "@/components/ProblemAlert";
import { formatDateTime } from "@/lib/format";

/** What the next nightly sweep would do now: report newly due documents, delete those past their grace. */
export function RetentionPreview() {
  const { firm } = useMe();
  const preview = useQuery({
    queryKey: keys.preview,
    queryFn: async () => data(await api.GET("/v1/retention/preview")),
  });
  const items = [
    ...(preview.data?.delete ?? []).map((item) => ({ ...item, action: "delete" as const })),
    ...(preview.data?.report ?? []).map((item) => ({ ...item, action: "report" as const })),
  ];
  const shown = preview.data ? preview.data.delete.length + preview.data.report.length : 0;
  const total = preview.data ? preview.data.delete_total + preview.data.report_total : 0;
  return (
    <Paper withBorder p="md" component="section" aria-labelledby="retention-preview">
      <Title order={2} size="h4" id="retention-preview" mb="xs">
        The next sweep
      </Title>
      <Text size="sm" c="gray.7" mb="sm">
        A dry run of tonight&apos;s retention sweep: nothing here is deleted by looking at it. Documents are first reported,
        then deleted once their grace period has passed; nothing under a legal hold is touched.
      </Text>
      <ProblemAlert error={preview.error} />
      {preview.isSuccess && items.length === 0 ? (
        <EmptyState title="Nothing is due">The next sweep will neither report nor delete a document.</EmptyState>
      ) : (
        <Table.ScrollContainer minWidth={640}>
          <Table striped aria-label="What the next sweep would do">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Document</Table.Th>
                <Table.Th>Type</Table.Th>
                <Table.Th>Why</Table.Th>
                <Table.Th>The sweep would</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {items.map((item) => (
                <Table.Tr key={`${item.action}-${item.document_id}`}>
                  <Table.Td>
                    <AnchorLink to="/documents/$documentId" params={{ documentId: item.document_id }}>
                      {item.title}
                    </AnchorLink>
                  </Table.Td>
                  <Table.Td>{typeLabel(item.document_type)}</Table.Td>
                  <Table.Td>{item.reason === "bin" ? "30 days in the bin" : "Its retention period ran out"}</Table.Td>
                  <Table.Td>
                    {item.action === "delete" ? (
                      <Badge color="red" variant="light">
                        delete it
                      </Badge>
                    ) : (
                      <Stack gap={2}>
                        <Badge color="yellow" variant="light">
                          report it
                        </Badge>
                        <Text size="xs" c="gray.7">
                          deleted after {formatDateTime(item.delete_after, firm.time_zone)}
                        </Text>
                      </Stack>
                    )}
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      {total > shown && (
        <Text size="sm" c="gray.7" mt="xs">
          The first {shown} of {total} documents are listed.
        </Text>
      )}
    </Paper>
  );
}

/** Every document the sweep deleted: the document is gone, this record is not. */
export function DeletionRecord() {
  const { firm } = useMe();
  const deletions = useInfiniteQuery({
    queryKey: keys.deletions,
    queryFn: async ({ pageParam }) =>
      data(await api.GET("/v1/retention/deletions", { params: { query: { cursor: pageParam } } })),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const items = allItems(deletions.data?.pages);
  return (
    <Paper withBorder p="md" component="section" aria-labelledby="deletion-record">
      <Title order={2} size="h4" id="deletion-record" mb="sm">
        Deletion record
      </Title>
      <ProblemAlert error={deletions.error} />
      {deletions.isSuccess && items.length === 0 ? (
        <EmptyState title="Nothing was deleted">The retention sweep records here each document it deletes.</EmptyState>
      ) : (
        <Table.ScrollContainer minWidth={640}>
          <Table striped aria-label="Documents deleted by the retention sweep">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Document</Table.Th>
                <Table.Th>Type</Table.Th>
                <Table.Th>Why</Table.Th>
                <Table.Th>Versions</Table.Th>
                <Table.Th>Files deleted</Table.Th>
                <Table.Th>Deleted</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {items.map((deletion) => (
                <Table.Tr key={deletion.id}>
                  <Table.Td>{deletion.title}</Table.Td>
                  <Table.Td>{typeLabel(deletion.document_type)}</Table.Td>
                  <Table.Td>{deletion.reason === "bin" ? "30 days in the bin" : "Retention policy"}</Table.Td>
                  <Table.Td>{deletion.versions}</Table.Td>
                  <Table.Td>{deletion.blobs_deleted.length}</Table.Td>
                  <Table.Td>{formatDateTime(deletion.deleted_at, firm.time_zone)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      <LoadMore {...deletions} />
    </Paper>
  );
}
