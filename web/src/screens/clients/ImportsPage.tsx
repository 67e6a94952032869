import "@mantine/dropzone/styles.css";

import { Alert, Anchor, Badge, Button, Group, Paper, Stack, Table, Text, Title } from "@mantine/core";
import { Dropzone, type FileWithPath } from "@mantine/dropzone";
import { useInfiniteQuery, useQueryClient } from "@tanstack/react-query";
import { Link, useNavigate } from "@tanstack/react-router";
import { useRef, useState } from "react";

import { CLIENT_COLUMNS, columnReport, headerCells, type ColumnReport } from "./columns";
import { ImportStatusBadge } from "./ImportStatusBadge";
import { isImportRunning, keys } from "./queries";
import { api, data } from "@/api/client";
import { useMe } from "@/app/session";
import { EmptyState } from "@/components/EmptyState";
import { LoadMore, allItems } from "@/components/LoadMore";
import { PageHeader } from "@/components/PageHeader";
import { ProblemAlert } from "@/components/ProblemAlert";
import { formatDateTime } from "@/lib/format";

// Browsers name a CSV differently (Excel on Windows says vnd.ms-excel); the extension decides.
const CSV_TYPES = { "text/csv": [".csv"], "application/vnd.ms-excel": [".csv"], "text/plain": [".csv"] };

interface Chosen {
  file: File;
  report: ColumnReport;
}

export function ImportsPage() {
  return (
    <>
      <PageHeader
        title="Client imports"
        description="Create many clients at once from a spreadsheet saved as CSV."
      />
      <Stack gap="xl">
        <NewImport />
        <PastImports />
      </Stack>
    </>
  );
}

function NewImport() {
  const [chosen, setChosen] = useState<Chosen | null>(null);
  const [rejected, setRejected] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [starting, setStarting] = useState(false);
  const openPicker = useRef<() => void>(null);
  const navigate = useNavigate();
  const queryClient = useQueryClient();

  const choose = async (files: FileWithPath[]) => {
    const file = files[0];
    if (!file) return;
    setRejected(null);
    setError(null);
    setChosen({ file, report: columnReport(headerCells(await file.text())) });
  };

  const start = async (file: File) => {
    setStarting(true);
    setError(null);
    try {
      const started = data(
        await api.POST("/v1/clients/imports", {
          body: { file: file.name },
          bodySerializer: () => {
            const form = new FormData();
            form.append("file", file, file.name);
            return form;
          },
        }),
      );
      await queryClient.invalidateQueries({ queryKey: keys.imports });
      await navigate({ to: "/imports/$importId", params: { importId: started.id } });
    } catch (caught) {
      setError(caught);
    } finally {
      setStarting(false);
    }
  };

  return (
    <section aria-labelledby="new-import">
      <Title order={2} size="h4" id="new-import" mb="xs">
        Import a CSV
      </Title>
      <Text size="sm" c="gray.7" mb="sm">
        The first row names the columns: <strong>name</strong> (required), kind, email, phone, status, tags (separated
        by ;) and external_ref, in any order and case. Rows whose email or external reference is already taken are
        skipped; rows with a bad value are reported with their line. Nothing is created twice.
      </Text>
      <Dropzone
        onDrop={(files) => void choose(files)}
        onReject={(rejections) =>
          setRejected(`${rejections[0]?.file.name ?? "That file"} is not a CSV file; save the sheet as CSV and try again.`)
        }
        accept={CSV_TYPES}
        multiple={false}
        openRef={openPicker}
        inputProps={{ "aria-label": "CSV file of clients" }}
        mb="sm"
      >
        <Stack align="center" gap={4} py="lg" style={{ pointerEvents: "none" }}>
          <Text fw={500}>
            <Dropzone.Accept>Drop the CSV here</Dropzone.Accept>
            <Dropzone.Reject>Only a CSV file can be imported</Dropzone.Reject>
            <Dropzone.Idle>Drag a CSV file here, or click to choose one</Dropzone.Idle>
          </Text>
          <Text size="sm" c="gray.7">
            One file, UTF-8, with a header row.
          </Text>
        </Stack>
      </Dropzone>
      <Button variant="default" mb="sm" onClick={() => openPicker.current?.()}>
        Choose a CSV file
      </Button>
      {rejected && (
        <Alert color="red" role="alert" mb="sm">
          {rejected}
        </Alert>
      )}
      {chosen && (
        <Paper withBorder p="md">
          <Stack>
            <Group justify="space-between">
              <Text>
                <strong>{chosen.file.name}</strong> ({Math.ceil(chosen.file.size / 1024)} KB)
              </Text>
              <Group gap="sm">
                <Button variant="default" onClick={() => setChosen(null)}>
                  Choose another file
                </Button>
                <Button
                  onClick={() => void start(chosen.file)}
                  loading={starting}
                  disabled={chosen.report.blocking !== null}
                >
                  Start import
                </Button>
              </Group>
            </Group>
            <ColumnsTable report={chosen.report} />
            <ProblemAlert error={error} />
          </Stack>
        </Paper>
      )}
    </section>
  );
}

function ColumnsTable({ report }: { report: ColumnReport }) {
  return (
    <>
      {report.blocking && (
        <Alert color="red" title="This file cannot be imported" role="alert">
          {report.blocking}
        </Alert>
      )}
      <Table aria-label="Columns of the file and the client fields they fill">
        <Table.Caption>How each column of the file will be read</Table.Caption>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Column in the file</Table.Th>
            <Table.Th>Client field</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {report.columns.map((column, index) => (
            <Table.Tr key={index}>
              <Table.Td>{column.column}</Table.Td>
              <Table.Td>
                {column.field && !column.problem ? (
                  CLIENT_COLUMNS[column.field]
                ) : (
                  <Group gap="xs">
                    <Badge variant="light" color={column.field ? "red" : "gray"}>
                      {column.field ? "error" : "ignored"}
                    </Badge>
                    <Text size="sm">{column.problem}</Text>
                  </Group>
                )}
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </>
  );
}

function PastImports() {
  const { firm } = useMe();
  const imports = useInfiniteQuery({
    queryKey: [...keys.imports, "list"],
    queryFn: async ({ pageParam }) =>
      data(await api.GET("/v1/clients/imports", { params: { query: { cursor: pageParam } } })),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    // An import still running shows its status as it changes.
    refetchInterval: (query) =>
      allItems(query.state.data?.pages).some((item) => isImportRunning(item.status)) ? 1000 : false,
  });
  const items = allItems(imports.data?.pages);

  return (
    <section aria-labelledby="past-imports">
      <Title order={2} size="h4" id="past-imports" mb="xs">
        Past imports
      </Title>
      <ProblemAlert error={imports.error} />
      {imports.isSuccess && items.length === 0 ? (
        <EmptyState title="No imports yet">Drop a CSV above to import your first clients.</EmptyState>
      ) : (
        <Table.ScrollContainer minWidth={720}>
          <Table aria-label="Past imports" striped>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>File</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th ta="right">Rows</Table.Th>
                <Table.Th ta="right">Created</Table.Th>
                <Table.Th ta="right">Skipped</Table.Th>
                <Table.Th ta="right">Invalid</Table.Th>
                <Table.Th>Started</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {items.map((item) => (
                <Table.Tr key={item.id}>
                  <Table.Td>
                    <Anchor component={Link} to={`/imports/${item.id}`}>
                      {item.filename}
                    </Anchor>
                  </Table.Td>
                  <Table.Td>
                    <ImportStatusBadge status={item.status} />
                  </Table.Td>
                  <Table.Td ta="right">{item.total}</Table.Td>
                  <Table.Td ta="right">{item.created}</Table.Td>
                  <Table.Td ta="right">{item.skipped}</Table.Td>
                  <Table.Td ta="right">{item.invalid}</Table.Td>
                  <Table.Td>{formatDateTime(item.created_at, firm.time_zone)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      <LoadMore {...imports} />
    </section>
  );
}
