import "@mantine/dropzone/styles.css";

import { Alert, Button, Card, Code, Group, List, Stack, Table, Text, Title } from "@mantine/core";
import { Dropzone, type FileWithPath } from "@mantine/dropzone";
import { useMutation } from "@tanstack/react-query";
import { useRef } from "react";

import { READABLE } from "./Outcomes";
import { verifyPdf } from "./signingApi";
import type { VerifyResult } from "./types";
import { localTimeZone, verdictOf } from "./verdict";
import { PageHeader } from "@/components/PageHeader";
import { ProblemAlert } from "@/components/ProblemAlert";
import { formatDateTime } from "@/lib/format";

const MAX_BYTES = 50 * 1024 * 1024;

/** Anyone checks a PDF: is it an intact firmflow-sealed document, from which envelope, signed by whom. */
export function VerifyPage() {
  const openPicker = useRef<() => void>(null);
  const check = useMutation({ mutationFn: (file: File) => verifyPdf(file) });
  const drop = (files: FileWithPath[]) => {
    const [file] = files;
    if (file) check.mutate(file);
  };

  return (
    <Stack gap="lg">
      <PageHeader
        title="Check a signed document"
        description="Upload a PDF signed through firmflow to learn whether it is exactly as it was sealed, and who signed it when."
      />
      <Stack gap="sm" component="section" aria-label="The PDF to check">
        <Dropzone
          onDrop={drop}
          onReject={() => check.reset()}
          accept={["application/pdf"]}
          maxSize={MAX_BYTES}
          multiple={false}
          openRef={openPicker}
          loading={check.isPending}
          inputProps={{ "aria-label": "PDF to check" }}
          activateOnClick={false}
          p="lg"
        >
          <Stack align="center" gap={4} style={{ pointerEvents: "none" }}>
            <Text fw={500}>
              <Dropzone.Accept>Drop the PDF to check it</Dropzone.Accept>
              <Dropzone.Reject>Only one PDF of at most 50 MB can be checked</Dropzone.Reject>
              <Dropzone.Idle>Drag a PDF here to check it</Dropzone.Idle>
            </Text>
            <Text size="sm" c="gray.7">
              The file is checked and not kept.
            </Text>
          </Stack>
        </Dropzone>
        <Group>
          <Button variant="default" onClick={() => openPicker.current?.()} loading={check.isPending}>
            Choose a PDF
          </Button>
          {check.variables && (
            <Text size="sm" c="gray.7" aria-live="polite">
              {check.isPending ? "Checking" : "Checked"} {check.variables.name}
            </Text>
          )}
        </Group>
      </Stack>
      <ProblemAlert error={check.error} />
      {check.data && <Answer result={check.data} />}
    </Stack>
  );
}

function Answer({ result }: { result: VerifyResult }) {
  const zone = localTimeZone();
  const verdict = verdictOf(result);
  return (
    <Stack gap="md" component="section" aria-labelledby="verify-answer" data-testid="verify-answer" data-verdict={verdict}>
      <Title order={2} size="h4" id="verify-answer">
        The answer
      </Title>
      {verdict === "intact" && (
        <Alert color="green" styles={READABLE} title="Intact: sealed by firmflow and not changed since" role="status">
          <Text size="sm">
            {result.envelope_title ? <strong>{result.envelope_title}</strong> : "This document"}
            {result.firm_name && `, sent by ${result.firm_name}`}, was sealed on {formatDateTime(result.sealed_at, zone)} ({zone}).
          </Text>
        </Alert>
      )}
      {verdict === "altered" && (
        <Alert color="red" styles={READABLE} title="Changed after it was sealed" role="alert">
          <Text size="sm">
            This file is not the one that was sealed: someone or something changed it afterwards. Ask the sender for the
            original signed copy.
          </Text>
        </Alert>
      )}
      {verdict === "foreign" && (
        <Alert color="gray" styles={READABLE} title="Sealed, but not by firmflow" role="status">
          <Text size="sm">
            The file carries an intact seal from another certificate
            {result.signer_certificate ? ` (${result.signer_certificate.subject})` : ""}: firmflow cannot say who signed it.
          </Text>
        </Alert>
      )}
      {verdict === "unsealed" && (
        <Alert color="gray" styles={READABLE} title="Not sealed" role="status">
          <Text size="sm">
            This PDF carries no seal, so nothing shows whether it was changed. A document signed through firmflow is
            sealed when everyone has signed: check the copy you received by email then.
          </Text>
        </Alert>
      )}
      {result.signers.length > 0 && <Signers result={result} zone={zone} />}
      <Card withBorder padding="md">
        <Stack gap={6}>
          {result.envelope_id && (
            <Text size="sm">
              Envelope <Code>{result.envelope_id}</Code>
            </Text>
          )}
          {result.signer_certificate && (
            <Text size="sm">
              Sealed with the certificate of {result.signer_certificate.subject} (SHA-256 fingerprint{" "}
              <Code style={{ wordBreak: "break-all" }}>{result.signer_certificate.fingerprint}</Code>)
            </Text>
          )}
          <Text size="sm">
            This file's SHA-256: <Code style={{ wordBreak: "break-all" }}>{result.document_sha256}</Code>
          </Text>
          {result.problems.length > 0 && (
            <List size="sm">
              {result.problems.map((problem) => (
                <List.Item key={problem}>{problem}</List.Item>
              ))}
            </List>
          )}
        </Stack>
      </Card>
    </Stack>
  );
}

function Signers({ result, zone }: { result: VerifyResult; zone: string }) {
  return (
    <Table aria-label="Who signed" withTableBorder>
      <Table.Thead>
        <Table.Tr>
          <Table.Th>Signer</Table.Th>
          <Table.Th>Email</Table.Th>
          <Table.Th>Signed</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {result.signers.map((signer) => (
          <Table.Tr key={`${signer.email}-${signer.signed_at ?? ""}`}>
            <Table.Td>{signer.name}</Table.Td>
            <Table.Td>{signer.email}</Table.Td>
            <Table.Td>{formatDateTime(signer.signed_at, zone)}</Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}
