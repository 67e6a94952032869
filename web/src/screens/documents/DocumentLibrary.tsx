import {
  Anchor,
  Button,
  Grid,
  Group,
  NavLink,
  Paper,
  Select,
  Stack,
  Switch,
  Table,
  Text,
  TextInput,
  Title,
} from "@mantine/core";
import { useDebouncedCallback } from "@mantine/hooks";
import { notifications } from "@mantine/notifications";
import { keepPreviousData, useInfiniteQuery, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { DocumentBadges } from "./badges";
import { formatBytes } from "./files";
import { folderTree } from "./folders";
import { foldersQuery, keys } from "./queries";
import { DOCUMENT_STATUSES, STATUS_LABELS, hasLibraryFilters, isStatus, typeLabel, type LibrarySearch } from "./search";
import type { DocumentRead, FolderRead } from "./types";
import { UploadZone } from "./UploadZone";
import { api, data } from "@/api/client";
import { useMe } from "@/app/session";
import { AnchorLink } from "@/components/AnchorLink";
import { ClientPicker } from "@/components/ClientPicker";
import { ConfirmAction } from "@/components/ConfirmAction";
import { EmptyState } from "@/components/EmptyState";
import { LoadMore, allItems } from "@/components/LoadMore";
import { ProblemAlert } from "@/components/ProblemAlert";
import { useApiForm } from "@/components/useApiForm";
import { formatDateTime } from "@/lib/format";

interface Props {
  search: LibrarySearch;
  onChange: (change: Partial<LibrarySearch>) => void;
  /** Set when the library is a client's: its documents only, and uploads are theirs. */
  clientId?: string;
}

/** Folders, filters, the upload zone and the documents: the library, the firm's or one client's. */
export function DocumentLibrary({ search, onChange, clientId }: Props) {
  const scope = { ...search, client_id: clientId ?? search.client_id };
  const documents = useInfiniteQuery({
    queryKey: keys.list(scope),
    queryFn: async ({ pageParam }) =>
      data(
        await api.GET("/v1/documents", {
          params: {
            query: {
              client_id: scope.client_id,
              folder_id: scope.folder_id,
              document_type: scope.document_type,
              tag: scope.tag ? [scope.tag] : undefined,
              status: scope.status,
              deleted: scope.deleted ?? false,
              cursor: pageParam,
            },
          },
        }),
      ),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    placeholderData: keepPreviousData,
  });
  const items = allItems(documents.data?.pages);

  return (
    <Grid gap="lg">
      <Grid.Col span={{ base: 12, md: 3 }}>
        <Folders clientId={scope.client_id} folderId={search.folder_id} onChange={onChange} />
      </Grid.Col>
      <Grid.Col span={{ base: 12, md: 9 }}>
        <Stack gap="md">
          <Filters search={search} onChange={onChange} showClient={clientId === undefined} />
          {!search.deleted && <UploadZone clientId={scope.client_id} folderId={search.folder_id} />}
          <ProblemAlert error={documents.error} />
          {documents.isSuccess && items.length === 0 ? (
            <NoDocuments search={search} onChange={onChange} />
          ) : (
            <DocumentsTable documents={items} bin={search.deleted ?? false} />
          )}
          <LoadMore {...documents} />
        </Stack>
      </Grid.Col>
    </Grid>
  );
}

function NoDocuments({ search, onChange }: Pick<Props, "search" | "onChange">) {
  if (search.deleted) {
    return <EmptyState title="The bin is empty">Deleted documents wait here for 30 days, and can be restored until then.</EmptyState>;
  }
  if (hasLibraryFilters(search)) {
    return (
      <EmptyState title="No document matches these filters">
        Try another type or tag, or{" "}
        <Anchor
          component="button"
          type="button"
          underline="always"
          onClick={() => onChange({ folder_id: undefined, document_type: undefined, tag: undefined, status: undefined })}
        >
          clear the filters
        </Anchor>
        .
      </EmptyState>
    );
  }
  return <EmptyState title="No documents yet">Drag files onto the area above, or choose them, to upload them.</EmptyState>;
}

function Filters({
  search,
  onChange,
  showClient,
}: Pick<Props, "search" | "onChange"> & { showClient: boolean }) {
  const [type, setType] = useState(search.document_type ?? "");
  const [tag, setTag] = useState(search.tag ?? "");
  // The address follows the typing a moment later, so each key press is not a request.
  const typeChanged = useDebouncedCallback((value: string) => onChange({ document_type: value.trim() || undefined }), 300);
  const tagChanged = useDebouncedCallback((value: string) => onChange({ tag: value.trim() || undefined }), 300);

  return (
    <Paper withBorder p="sm">
      <Group align="flex-end" wrap="wrap">
        {showClient && (
          <ClientPicker
            label="Client"
            value={search.client_id ?? null}
            onChange={(clientId) => onChange({ client_id: clientId ?? undefined, folder_id: undefined })}
            clearable
            w={240}
          />
        )}
        <TextInput
          label="Type"
          placeholder="e.g. tax_return"
          value={type}
          onChange={(event) => {
            setType(event.currentTarget.value);
            typeChanged(event.currentTarget.value);
          }}
          w={170}
        />
        <TextInput
          label="Tag"
          value={tag}
          onChange={(event) => {
            setTag(event.currentTarget.value);
            tagChanged(event.currentTarget.value);
          }}
          w={150}
        />
        <Select
          label="Status"
          placeholder="Any status"
          data={DOCUMENT_STATUSES.map((status) => ({ value: status, label: STATUS_LABELS[status] }))}
          value={search.status ?? null}
          onChange={(value) => onChange({ status: isStatus(value) ? value : undefined })}
          clearable
          w={160}
        />
        <Switch
          label="The bin (deleted)"
          checked={search.deleted ?? false}
          onChange={(event) => onChange({ deleted: event.currentTarget.checked || undefined })}
          mb={8}
        />
      </Group>
    </Paper>
  );
}

function DocumentsTable({ documents, bin }: { documents: DocumentRead[]; bin: boolean }) {
  const { firm } = useMe();
  return (
    <Table.ScrollContainer minWidth={760}>
      <Table striped highlightOnHover aria-label={bin ? "Deleted documents" : "Documents"}>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Title</Table.Th>
            <Table.Th>Type</Table.Th>
            <Table.Th>Tags</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th>Version</Table.Th>
            <Table.Th>Size</Table.Th>
            <Table.Th>{bin ? "Deleted" : "Updated"}</Table.Th>
            {bin && <Table.Th>Actions</Table.Th>}
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {documents.map((document) => (
            <Table.Tr key={document.id}>
              <Table.Td>
                <AnchorLink to="/documents/$documentId" params={{ documentId: document.id }} fw={500}>
                  {document.title}
                </AnchorLink>
                {document.current_version && (
                  <Text size="xs" c="gray.7">
                    {document.current_version.file_name}
                  </Text>
                )}
              </Table.Td>
              <Table.Td>{typeLabel(document.document_type)}</Table.Td>
              <Table.Td>{document.tags.join(", ") || "—"}</Table.Td>
              <Table.Td>
                <DocumentBadges status={document.status} legalHold={document.legal_hold} />
              </Table.Td>
              <Table.Td>{document.current_version ? `v${document.current_version.number}` : "—"}</Table.Td>
              <Table.Td>{formatBytes(document.current_version?.size)}</Table.Td>
              <Table.Td>
                {formatDateTime(bin ? document.deleted_at : document.updated_at, firm.time_zone)}
              </Table.Td>
              {bin && (
                <Table.Td>
                  <RestoreFromBin document={document} />
                </Table.Td>
              )}
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}

export function RestoreFromBin({ document }: { document: DocumentRead }) {
  const queryClient = useQueryClient();
  return (
    <ConfirmAction
      size="xs"
      label="Restore"
      aria-label={`Restore ${document.title}`}
      title={`Restore ${document.title}?`}
      consequence="It leaves the bin and is back in the library, with every version, where it was."
      confirmColor="blue"
      onConfirm={async () => {
        data(
          await api.POST("/v1/documents/{document_id}/restore", { params: { path: { document_id: document.id } } }),
        );
        notifications.show({ message: `${document.title} is restored.`, color: "green" });
        await queryClient.invalidateQueries({ queryKey: keys.all });
      }}
    />
  );
}

function Folders({
  clientId,
  folderId,
  onChange,
}: {
  clientId: string | undefined;
  folderId: string | undefined;
  onChange: Props["onChange"];
}) {
  const folders = useQuery(foldersQuery(clientId));
  // Without a client the firm's own folders: a client's are shown once the client is chosen.
  const shown = (folders.data ?? []).filter((folder) => clientId !== undefined || folder.client_id === null);
  return (
    <Paper withBorder p="sm" component="nav" aria-labelledby="folders-heading">
      <Title order={2} size="h5" id="folders-heading" mb="xs">
        Folders
      </Title>
      <ProblemAlert error={folders.error} />
      <NavLink
        component="button"
        type="button"
        label="All documents"
        active={folderId === undefined}
        aria-current={folderId === undefined ? "true" : undefined}
        onClick={() => onChange({ folder_id: undefined })}
      />
      {folderTree(shown).map(({ folder, depth }) => (
        <FolderLink
          key={folder.id}
          folder={folder}
          depth={depth}
          active={folder.id === folderId}
          onOpen={() => onChange({ folder_id: folder.id })}
          onDeleted={() => onChange({ folder_id: undefined })}
        />
      ))}
      <NewFolder
        clientId={clientId}
        parent={shown.find((folder) => folder.id === folderId)}
        onCreated={(folder) => onChange({ folder_id: folder.id })}
      />
    </Paper>
  );
}

function FolderLink({
  folder,
  depth,
  active,
  onOpen,
  onDeleted,
}: {
  folder: FolderRead;
  depth: number;
  active: boolean;
  onOpen: () => void;
  onDeleted: () => void;
}) {
  const queryClient = useQueryClient();
  return (
    <Group gap={4} wrap="nowrap">
      <NavLink
        component="button"
        type="button"
        label={folder.name}
        active={active}
        aria-current={active ? "true" : undefined}
        onClick={onOpen}
        style={{ flex: 1, paddingInlineStart: `calc(var(--mantine-spacing-sm) + ${depth} * var(--mantine-spacing-md))` }}
      />
      {active && (
        <ConfirmAction
          size="compact-xs"
          variant="subtle"
          label="Delete folder"
          aria-label={`Delete the folder ${folder.name}`}
          title={`Delete the folder ${folder.name}?`}
          consequence="The empty folder goes. A folder that still holds documents (the bin's too) or subfolders is kept: move or delete them first."
          onConfirm={async () => {
            data(
              await api.DELETE("/v1/document-folders/{folder_id}", { params: { path: { folder_id: folder.id } } }),
            );
            onDeleted();
            await queryClient.invalidateQueries({ queryKey: keys.folders(folder.client_id ?? undefined) });
            await queryClient.invalidateQueries({ queryKey: keys.all });
          }}
        />
      )}
    </Group>
  );
}

function NewFolder({
  clientId,
  parent,
  onCreated,
}: {
  clientId: string | undefined;
  /** The open folder: the new one goes inside it. */
  parent: FolderRead | undefined;
  onCreated: (folder: FolderRead) => void;
}) {
  const queryClient = useQueryClient();
  const { form, error, unplaced, submit, submitting } = useApiForm<{ name: string }>({
    initialValues: { name: "" },
    validate: { name: (value) => (value.trim() ? null : "Name the folder") },
  });
  const create = submit(async (values) => {
    const folder = data(
      await api.POST("/v1/document-folders", {
        body: parent
          ? { name: values.name.trim(), parent_id: parent.id }
          : { name: values.name.trim(), client_id: clientId ?? null },
      }),
    );
    form.reset();
    await queryClient.invalidateQueries({ queryKey: keys.folders(clientId) });
    onCreated(folder);
  });
  return (
    <form onSubmit={create} noValidate>
      <Stack gap={6} mt="sm">
        <TextInput
          label="New folder"
          description={parent ? `Inside ${parent.name}` : undefined}
          placeholder="Folder name"
          size="xs"
          {...form.getInputProps("name")}
          key={form.key("name")}
        />
        <Button type="submit" size="xs" variant="default" loading={submitting}>
          Add folder
        </Button>
        <ProblemAlert error={error} unplaced={unplaced} />
      </Stack>
    </form>
  );
}
