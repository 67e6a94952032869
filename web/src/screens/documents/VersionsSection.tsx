import { Badge, Button, FileInput, Group, Paper, Progress, Stack, Table, Text, TextInput, Title } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useInfiniteQuery, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { downloadVersion } from "./download";
import { formatBytes, progressPercent } from "./files";
import { keys, usersQuery } from "./queries";
import type { DocumentRead, VersionRead } from "./types";
import { uploadWithProgress } from "./upload";
import { api, data } from "@/api/client";
import { useMe } from "@/app/session";
import { ConfirmAction } from "@/components/ConfirmAction";
import { LoadMore, allItems } from "@/components/LoadMore";
import { ProblemAlert } from "@/components/ProblemAlert";
import { formatDateTime } from "@/lib/format";

/** Every upload of the document, newest first; a version never changes once made. */
export function VersionsSection({ document }: { document: DocumentRead }) {
  const { firm } = useMe();
  const users = useQuery(usersQuery);
  const nameOf = (userId: string | null | undefined) =>
    (userId && users.data?.find((user) => user.id === userId)?.name) ?? "—";
  const versions = useInfiniteQuery({
    queryKey: keys.versions(document.id),
    queryFn: async ({ pageParam }) =>
      data(
        await api.GET("/v1/documents/{document_id}/versions", {
          params: { path: { document_id: document.id }, query: { cursor: pageParam } },
        }),
      ),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
  const items = allItems(versions.data?.pages);
  const deleted = document.deleted_at !== null && document.deleted_at !== undefined;
  const numberOf = (versionId: string | null | undefined) =>
    items.find((version) => version.id === versionId)?.number;

  return (
    <Paper withBorder p="md" component="section" aria-labelledby="document-versions">
      <Title order={2} size="h4" id="document-versions" mb="sm">
        Version history
      </Title>
      {!deleted && <NewVersion document={document} />}
      <ProblemAlert error={versions.error} />
      <Table.ScrollContainer minWidth={860}>
        <Table striped aria-label="Versions">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Version</Table.Th>
              <Table.Th>File</Table.Th>
              <Table.Th>Size</Table.Th>
              <Table.Th>Type</Table.Th>
              <Table.Th>Uploaded by</Table.Th>
              <Table.Th>Note</Table.Th>
              <Table.Th>Date</Table.Th>
              <Table.Th>Actions</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {items.map((version) => {
              const current = version.id === document.current_version?.id;
              const restoredFrom = numberOf(version.restored_from_id);
              return (
                <Table.Tr key={version.id} data-version={version.number}>
                  <Table.Td>
                    <Group gap={4} wrap="nowrap">
                      v{version.number}
                      {current && (
                        <Badge size="xs" variant="light" style={{ flexShrink: 0 }}>
                          current
                        </Badge>
                      )}
                    </Group>
                  </Table.Td>
                  <Table.Td>{version.file_name}</Table.Td>
                  <Table.Td>{formatBytes(version.size)}</Table.Td>
                  <Table.Td>{version.content_type}</Table.Td>
                  <Table.Td>{nameOf(version.uploaded_by)}</Table.Td>
                  <Table.Td>
                    {version.note ?? "—"}
                    {restoredFrom !== undefined && (
                      <Text size="xs" c="gray.7">
                        Restored from v{restoredFrom}
                      </Text>
                    )}
                  </Table.Td>
                  <Table.Td>{formatDateTime(version.created_at, firm.time_zone)}</Table.Td>
                  <Table.Td>
                    <Group gap="xs" wrap="nowrap">
                      <DownloadButton document={document} version={version} />
                      {!current && !deleted && <RestoreVersion document={document} version={version} />}
                    </Group>
                  </Table.Td>
                </Table.Tr>
              );
            })}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      <LoadMore {...versions} />
    </Paper>
  );
}

function DownloadButton({ document, version }: { document: DocumentRead; version: VersionRead }) {
  const [busy, setBusy] = useState(false);
  return (
    <Button
      size="xs"
      variant="default"
      loading={busy}
      aria-label={`Download v${version.number}`}
      onClick={async () => {
        setBusy(true);
        try {
          await downloadVersion(document.id, version.id);
        } catch (caught) {
          notifications.show({
            color: "red",
            title: "The download could not start",
            message: caught instanceof Error ? caught.message : "Try again.",
          });
        } finally {
          setBusy(false);
        }
      }}
    >
      Download
    </Button>
  );
}

function RestoreVersion({ document, version }: { document: DocumentRead; version: VersionRead }) {
  const queryClient = useQueryClient();
  return (
    <ConfirmAction
      size="xs"
      label="Restore as newest"
      aria-label={`Restore v${version.number} as newest`}
      title={`Restore v${version.number} as the newest version?`}
      consequence={
        <>
          A new version is made with the bytes of v{version.number} ({version.file_name}); every version stays in the
          history. A document in review or approved goes back to draft.
        </>
      }
      confirmColor="blue"
      onConfirm={async () => {
        const made = data(
          await api.POST("/v1/documents/{document_id}/versions/{version_id}/restore", {
            params: { path: { document_id: document.id, version_id: version.id } },
          }),
        );
        notifications.show({ message: `v${version.number} is restored as v${made.number}.`, color: "green" });
        await queryClient.invalidateQueries({ queryKey: keys.one(document.id) });
        await queryClient.invalidateQueries({ queryKey: keys.all });
      }}
    />
  );
}

function NewVersion({ document }: { document: DocumentRead }) {
  const queryClient = useQueryClient();
  const [file, setFile] = useState<File | null>(null);
  const [note, setNote] = useState("");
  const [loaded, setLoaded] = useState<number | null>(null);
  const [error, setError] = useState<unknown>(null);

  const upload = async (event: React.FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (!file) return;
    const form = new FormData();
    form.append("file", file, file.name);
    if (note.trim()) form.append("note", note.trim());
    setError(null);
    setLoaded(0);
    try {
      const version = await uploadWithProgress<VersionRead>({
        path: `/v1/documents/${document.id}/versions`,
        form,
        idempotencyKey: crypto.randomUUID(),
        onProgress: (sent) => setLoaded(sent),
      });
      notifications.show({ message: `v${version.number} is uploaded.`, color: "green" });
      setFile(null);
      setNote("");
      await queryClient.invalidateQueries({ queryKey: keys.one(document.id) });
      await queryClient.invalidateQueries({ queryKey: keys.all });
    } catch (caught) {
      setError(caught);
    } finally {
      setLoaded(null);
    }
  };

  return (
    <form onSubmit={(event) => void upload(event)} noValidate>
      <Stack gap="xs" mb="md">
        <Group align="flex-end" wrap="wrap">
          <FileInput label="New version" description="Choose the file" value={file} onChange={setFile} clearable w={280} />
          <TextInput
            label="Note"
            placeholder="What changed"
            value={note}
            onChange={(event) => setNote(event.currentTarget.value)}
            w={300}
          />
          <Button type="submit" disabled={!file} loading={loaded !== null}>
            Upload version
          </Button>
        </Group>
        {loaded !== null && file && (
          <Progress value={progressPercent(loaded, file.size)} animated aria-label={`Upload of ${file.name}`} />
        )}
        <ProblemAlert error={error} />
      </Stack>
    </form>
  );
}
