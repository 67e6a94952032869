import { Button, Code, FileInput, Group, Paper, PasswordInput, SimpleGrid, Stack, Text, Title } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { keys } from "./queries";
import { api, data } from "@/api/client";
import { useMe } from "@/app/session";
import { ConfirmAction } from "@/components/ConfirmAction";
import { ProblemAlert } from "@/components/ProblemAlert";
import { formatDateTime } from "@/lib/format";

/** The certificate whose seal signed documents carry: the firm's own, or the platform's. */
export function SealingCertificate() {
  const { firm } = useMe();
  const queryClient = useQueryClient();
  const certificate = useQuery({
    queryKey: keys.certificate,
    queryFn: async () => data(await api.GET("/v1/firm/signing-certificate")),
  });
  const [file, setFile] = useState<File | null>(null);
  const [passphrase, setPassphrase] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [uploading, setUploading] = useState(false);
  const current = certificate.data;

  const upload = async (event: React.FormEvent) => {
    event.preventDefault();
    if (!file) return;
    setUploading(true);
    setError(null);
    try {
      const saved = data(
        await api.PUT("/v1/firm/signing-certificate", {
          body: { file: file.name, passphrase },
          bodySerializer: () => {
            const form = new FormData();
            form.append("file", file, file.name);
            form.append("passphrase", passphrase);
            return form;
          },
        }),
      );
      queryClient.setQueryData(keys.certificate, saved);
      setFile(null);
      setPassphrase("");
      notifications.show({ message: "Signed documents will carry the firm's own seal." });
    } catch (caught) {
      setError(caught);
    } finally {
      setUploading(false);
    }
  };

  return (
    <Paper withBorder p="md" component="section" aria-labelledby="esignature-certificate">
      <Title order={2} size="h4" id="esignature-certificate" mb={4}>
        Sealing certificate
      </Title>
      <Text size="sm" c="gray.7" mb="sm">
        Every signed document is sealed, so any PDF reader shows whether it changed afterwards. Without a certificate of its
        own the firm&apos;s documents carry the platform&apos;s seal.
      </Text>
      <ProblemAlert error={certificate.error} />
      {current && (
        <SimpleGrid cols={{ base: 1, sm: 2 }} mb="md" aria-label="The certificate in use">
          <Text size="sm">
            <strong>In use:</strong> {current.source === "firm" ? "the firm's own" : "the platform's"}
          </Text>
          <Text size="sm">
            <strong>Valid until:</strong> {formatDateTime(current.not_after, firm.time_zone)}
          </Text>
          <Text size="sm">
            <strong>Subject:</strong> {current.subject}
          </Text>
          <Text size="sm">
            <strong>Issuer:</strong> {current.issuer}
          </Text>
          <Text size="sm" style={{ gridColumn: "1 / -1", overflowWrap: "anywhere" }}>
            <strong>SHA-256 fingerprint:</strong> <Code>{current.fingerprint}</Code>
          </Text>
        </SimpleGrid>
      )}
      <form onSubmit={upload} aria-label="Upload the firm's certificate">
        <Stack gap="xs">
          <Group grow align="flex-start">
            <FileInput
              label="PKCS#12 file (.p12, .pfx)"
              description="The certificate and its private key, at most 64 KB"
              accept=".p12,.pfx,application/x-pkcs12"
              value={file}
              onChange={setFile}
              clearable
            />
            <PasswordInput
              label="Passphrase"
              description="The file's; kept only to read it"
              value={passphrase}
              onChange={(event) => setPassphrase(event.currentTarget.value)}
            />
          </Group>
          <ProblemAlert error={error} />
          <Group>
            <Button type="submit" disabled={!file} loading={uploading}>
              {current?.source === "firm" ? "Replace the certificate" : "Use this certificate"}
            </Button>
            {current?.source === "firm" && (
              <ConfirmAction
                label="Remove the firm's certificate"
                title="Remove the firm's certificate?"
                consequence="Documents signed from now on carry the platform's seal. Documents already sealed keep the firm's seal and stay verifiable."
                onConfirm={async () => {
                  data(await api.DELETE("/v1/firm/signing-certificate"));
                  await queryClient.invalidateQueries({ queryKey: keys.certificate });
                }}
              />
            )}
          </Group>
        </Stack>
      </form>
    </Paper>
  );
}
