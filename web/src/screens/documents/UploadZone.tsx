import "@mantine/dropzone/styles.css";

import { Alert, Anchor, Button, Group, Paper, Progress, Stack, Table, Text } from "@mantine/core";
import { Dropzone, type FileWithPath } from "@mantine/dropzone";
import { useQueryClient } from "@tanstack/react-query";
import { useRef, useState } from "react";

import { batchPercent, formatBytes, progressPercent } from "./files";
import { keys } from "./queries";
import type { DocumentRead } from "./types";
import { uploadWithProgress } from "./upload";
import { AnchorLink } from "@/components/AnchorLink";
import { ApiProblem } from "@/api/problem";

interface Upload {
  key: string;
  file: File;
  loaded: number;
  state: "uploading" | "done" | "failed";
  error: unknown;
  document: DocumentRead | null;
}

interface Props {
  clientId?: string;
  folderId?: string;
}

/** Files dropped or chosen here become documents, one each, with a progress bar per file. */
export function UploadZone({ clientId, folderId }: Props) {
  const queryClient = useQueryClient();
  const [uploads, setUploads] = useState<Upload[]>([]);
  const openPicker = useRef<() => void>(null);

  const change = (key: string, patch: Partial<Upload>) =>
    setUploads((current) => current.map((upload) => (upload.key === key ? { ...upload, ...patch } : upload)));

  const send = async (upload: Upload) => {
    const form = new FormData();
    form.append("file", upload.file, upload.file.name);
    if (clientId) form.append("client_id", clientId);
    if (folderId) form.append("folder_id", folderId);
    try {
      const document = await uploadWithProgress<DocumentRead>({
        path: "/v1/documents",
        form,
        idempotencyKey: upload.key,
        onProgress: (loaded) => change(upload.key, { loaded }),
      });
      change(upload.key, { state: "done", loaded: upload.file.size, document });
      await queryClient.invalidateQueries({ queryKey: keys.all });
    } catch (error) {
      change(upload.key, { state: "failed", error });
    }
  };

  const drop = (files: FileWithPath[]) => {
    const added = files.map(
      (file): Upload => ({ key: crypto.randomUUID(), file, loaded: 0, state: "uploading", error: null, document: null }),
    );
    setUploads((current) => [...added, ...current]);
    // One at a time: the firm's quota is checked per upload, and the bars fill in order.
    void added.reduce<Promise<void>>((previous, upload) => previous.then(() => send(upload)), Promise.resolve());
  };

  const active = uploads.filter((upload) => upload.state === "uploading");
  const overall = batchPercent(active.map((upload) => ({ size: upload.file.size, loaded: upload.loaded })));

  return (
    <Stack gap="sm" component="section" aria-label="Upload documents">
      <Dropzone
        onDrop={drop}
        multiple
        openRef={openPicker}
        // The API sniffs each file's content against the firm's allowed types; nothing is refused here by name.
        inputProps={{ "aria-label": "Files to upload" }}
        activateOnClick={false}
        p="md"
      >
        <Stack align="center" gap={4} style={{ pointerEvents: "none" }}>
          <Text fw={500}>
            <Dropzone.Accept>Drop the files to upload them</Dropzone.Accept>
            <Dropzone.Reject>These files cannot be uploaded</Dropzone.Reject>
            <Dropzone.Idle>Drag files here to upload them</Dropzone.Idle>
          </Text>
          <Text size="sm" c="gray.7">
            Each file becomes a document{clientId ? " of this client" : ""}
            {folderId ? " in this folder" : ""}; its type is checked from its content.
          </Text>
        </Stack>
      </Dropzone>
      <Group gap="sm">
        <Button variant="default" onClick={() => openPicker.current?.()}>
          Choose files
        </Button>
        {uploads.length > 0 && active.length === 0 && (
          <Anchor component="button" type="button" size="sm" onClick={() => setUploads([])}>
            Clear the upload list
          </Anchor>
        )}
        {active.length > 0 && (
          <Text size="sm" c="gray.7" aria-live="polite">
            Uploading {active.length} file{active.length === 1 ? "" : "s"}: {overall}%
          </Text>
        )}
      </Group>
      {uploads.length > 0 && (
        <Paper withBorder>
          <Table aria-label="Uploads">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>File</Table.Th>
                <Table.Th>Size</Table.Th>
                <Table.Th w="45%">Progress</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {uploads.map((upload) => (
                <UploadRow key={upload.key} upload={upload} />
              ))}
            </Table.Tbody>
          </Table>
        </Paper>
      )}
    </Stack>
  );
}

function UploadRow({ upload }: { upload: Upload }) {
  const percent = upload.state === "done" ? 100 : progressPercent(upload.loaded, upload.file.size);
  return (
    <Table.Tr data-upload={upload.file.name}>
      <Table.Td>{upload.file.name}</Table.Td>
      <Table.Td>{formatBytes(upload.file.size)}</Table.Td>
      <Table.Td>
        {upload.state === "failed" ? (
          <UploadProblem error={upload.error} />
        ) : (
          <Stack gap={4}>
            <Progress
              value={percent}
              color={upload.state === "done" ? "green" : "blue"}
              animated={upload.state === "uploading"}
              aria-label={`Upload of ${upload.file.name}`}
            />
            <Text size="xs" c="gray.7">
              {upload.state === "done" && upload.document ? (
                <>
                  Uploaded as{" "}
                  <AnchorLink to="/documents/$documentId" params={{ documentId: upload.document.id }}>
                    {upload.document.title}
                  </AnchorLink>
                </>
              ) : (
                `${percent}% sent`
              )}
            </Text>
          </Stack>
        )}
      </Table.Td>
    </Table.Tr>
  );
}

/** The API's problem on the file's own row: too large, over the quota, a type the firm refuses. */
function UploadProblem({ error }: { error: unknown }) {
  if (error instanceof ApiProblem) {
    return (
      <Alert color="red" role="alert" title={error.problem.title} p="xs">
        {error.problem.detail}
      </Alert>
    );
  }
  return (
    <Alert color="red" role="alert" p="xs">
      The upload stopped; try again.
    </Alert>
  );
}
