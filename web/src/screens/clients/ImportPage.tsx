import { Alert, Anchor, Badge, Button, Center, Group, Loader, Paper, Progress, SimpleGrid, Stack, Table, Text, Title } from "@mantine/core";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";
import { getRouteApi, Link } from "@tanstack/react-router";

import { ImportStatusBadge } from "./ImportStatusBadge";
import { errorRows, importPercent, problemsFilename } from "./importRows";
import { importReportQuery, isImportRunning, keys, type ImportReport } from "./queries";
import { ApiProblem } from "@/api/problem";
import { useMe } from "@/app/session";
import { PageHeader } from "@/components/PageHeader";
import { ProblemAlert } from "@/components/ProblemAlert";
import { downloadText, formatDateTime, toCsv } from "@/lib/format";

const route = getRouteApi("/app/imports/$importId");

// The report carries the first 1,000 problem rows (api/schemas/client_imports.py).
const REPORTED_ERRORS = 1000;

export function ImportPage() {
  const { importId } = route.useParams();
  const report = useQuery(importReportQuery(importId));

  if (report.isPending) {
    return (
      <Center p="xl">
        <Loader aria-label="Loading the import" />
      </Center>
    );
  }
  if (report.isError) {
    const missing = report.error instanceof ApiProblem && [404, 422].includes(report.error.status);
    return (
      <>
        <PageHeader title={missing ? "Import not found" : "Client import"} />
        {missing ? (
          <Text>
            No import of your firm is at this address.{" "}
            <Anchor component={Link} to="/imports" underline="always">
              See the imports
            </Anchor>
          </Text>
        ) : (
          <ProblemAlert error={report.error} />
        )}
      </>
    );
  }
  return <ImportDetail report={report.data} />;
}

function ImportDetail({ report }: { report: ImportReport }) {
  const { firm } = useMe();
  const queryClient = useQueryClient();
  const running = isImportRunning(report.status);
  // Once it finishes, lists shown from cache would miss the clients it created.
  useEffect(() => {
    if (!running) void queryClient.invalidateQueries({ queryKey: keys.clients });
  }, [running, queryClient]);
  return (
    <>
      <Anchor component={Link} to="/imports" size="sm">
        ← Client imports
      </Anchor>
      <PageHeader
        title={`Import of ${report.filename}`}
        description={`Started ${formatDateTime(report.created_at, firm.time_zone)}${
          report.finished_at ? `, finished ${formatDateTime(report.finished_at, firm.time_zone)}` : ""
        }`}
        actions={
          !running && (
            <Button component={Link} to="/clients" variant="default">
              See the clients
            </Button>
          )
        }
      />
      <Stack gap="xl">
        <ImportProgress report={report} />
        {report.failure_reason && (
          <Alert color="red" title="The import stopped" role="alert">
            {report.failure_reason}
          </Alert>
        )}
        <IgnoredColumns report={report} />
        {!running && <ProblemRows report={report} />}
      </Stack>
    </>
  );
}

function ImportProgress({ report }: { report: ImportReport }) {
  const percent = importPercent(report);
  const running = isImportRunning(report.status);
  return (
    <section aria-labelledby="import-progress">
      <Group justify="space-between" mb="xs">
        <Title order={2} size="h4" id="import-progress">
          Progress
        </Title>
        <ImportStatusBadge status={report.status} />
      </Group>
      <Progress
        value={percent}
        size="xl"
        striped={running}
        animated={running}
        color={report.status === "failed" ? "red" : undefined}
        aria-label="Import progress"
      />
      <Text size="sm" mt={4} aria-live="polite">
        {report.processed} of {report.total} rows decided · {percent}%
      </Text>
      <SimpleGrid cols={{ base: 1, xs: 3 }} mt="md">
        <Count label="Created" value={report.created} />
        <Count label="Skipped (already there)" value={report.skipped} />
        <Count label="Invalid" value={report.invalid} />
      </SimpleGrid>
    </section>
  );
}

function Count({ label, value }: { label: string; value: number }) {
  return (
    <Paper withBorder p="sm">
      <Text size="sm" c="gray.7">
        {label}
      </Text>
      <Text size="xl" fw={700}>
        {value}
      </Text>
    </Paper>
  );
}

function IgnoredColumns({ report }: { report: ImportReport }) {
  return (
    <section aria-labelledby="import-columns">
      <Title order={2} size="h4" id="import-columns" mb="xs">
        Columns
      </Title>
      {report.unknown_columns.length === 0 ? (
        <Text>Every column of the file matched a client field.</Text>
      ) : (
        <Stack gap="xs">
          <Text>These columns match no client field and were ignored; rename one to import it:</Text>
          <Group gap="xs">
            {report.unknown_columns.map((column) => (
              <Badge variant="light" key={column} color="gray" tt="none">
                {column}
              </Badge>
            ))}
          </Group>
        </Stack>
      )}
    </section>
  );
}

function ProblemRows({ report }: { report: ImportReport }) {
  const problems = report.skipped + report.invalid;
  return (
    <section aria-labelledby="import-problems">
      <Group justify="space-between" mb="xs">
        <Title order={2} size="h4" id="import-problems">
          Skipped and invalid rows
        </Title>
        {report.errors.length > 0 && (
          <Button
            variant="default"
            onClick={() => downloadText(problemsFilename(report.filename), toCsv(errorRows(report)))}
          >
            Download as CSV
          </Button>
        )}
      </Group>
      {report.errors.length === 0 ? (
        <Text>Every row was imported.</Text>
      ) : (
        <>
          {problems > report.errors.length && (
            <Text size="sm" mb="xs">
              The first {REPORTED_ERRORS.toLocaleString("en-US")} of {problems.toLocaleString("en-US")} problem rows
              are shown.
            </Text>
          )}
          <Table aria-label="Skipped and invalid rows" striped>
            <Table.Thead>
              <Table.Tr>
                <Table.Th ta="right">Line</Table.Th>
                <Table.Th>Outcome</Table.Th>
                <Table.Th>Reason</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {report.errors.map((row) => (
                <Table.Tr key={row.line}>
                  <Table.Td ta="right">{row.line}</Table.Td>
                  <Table.Td>
                    <Badge variant="light" color={row.outcome === "invalid" ? "red" : "yellow"}>
                      {row.outcome}
                    </Badge>
                  </Table.Td>
                  <Table.Td>{row.reason}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </>
      )}
    </section>
  );
}
