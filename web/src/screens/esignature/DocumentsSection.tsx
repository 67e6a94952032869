import { Button, Group, Paper, Table, Title } from "@mantine/core";
import { useState } from "react";

import type { EnvelopeRead } from "./types";
import { api, data } from "@/api/client";
import { ProblemAlert } from "@/components/ProblemAlert";

type Variant = "original" | "signed";

/** The envelope's documents, each downloadable as sent and, once sealed, as signed. */
export function DocumentsSection({ envelope }: { envelope: EnvelopeRead }) {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState<string | null>(null);

  // A short-lived signed link, as for library versions: the API audits every download.
  const download = async (envelopeDocumentId: string, variant: Variant) => {
    setBusy(`${envelopeDocumentId}:${variant}`);
    setError(null);
    try {
      const link = data(
        await api.POST("/v1/envelopes/{envelope_id}/documents/{envelope_document_id}/download-link", {
          params: { path: { envelope_id: envelope.id, envelope_document_id: envelopeDocumentId } },
          body: { variant },
        }),
      );
      const anchor = document.createElement("a");
      anchor.href = link.url;
      anchor.rel = "noopener";
      anchor.click();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(null);
    }
  };

  return (
    <Paper withBorder p="md" component="section" aria-labelledby="envelope-documents-heading">
      <Title order={2} size="h4" id="envelope-documents-heading" mb="sm">
        Documents
      </Title>
      <ProblemAlert error={error} />
      <Table aria-label="Documents of the envelope">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Title</Table.Th>
            <Table.Th>Pages</Table.Th>
            <Table.Th>Download</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {envelope.documents.map((item) => (
            <Table.Tr key={item.id}>
              <Table.Td>{item.title}</Table.Td>
              <Table.Td>{item.page_count}</Table.Td>
              <Table.Td>
                <Group gap="xs">
                  <Button
                    size="xs"
                    variant="default"
                    loading={busy === `${item.id}:original`}
                    aria-label={`Download ${item.title} as sent`}
                    onClick={() => download(item.id, "original")}
                  >
                    As sent
                  </Button>
                  {item.signed_version_id && (
                    <Button
                      size="xs"
                      loading={busy === `${item.id}:signed`}
                      aria-label={`Download ${item.title} signed`}
                      onClick={() => download(item.id, "signed")}
                    >
                      Signed
                    </Button>
                  )}
                </Group>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Paper>
  );
}
