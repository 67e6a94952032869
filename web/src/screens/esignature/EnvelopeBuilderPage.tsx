import { Alert, Anchor, Button, Center, Group, Loader, Stack, Text } from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { getRouteApi, Link, useNavigate } from "@tanstack/react-router";
import { useState } from "react";

import { StatusBadge } from "./badges";
import { signersWithoutSignature, type PlacedField } from "./builderModel";
import { builderDocuments, fieldSpecs, placedFields, recipientParties } from "./envelopeFields";
import { FieldBuilder } from "./FieldBuilder";
import { envelopeQuery, keys, pageUrl } from "./queries";
import type { EnvelopeRead } from "./types";
import { api, data } from "@/api/client";
import { ConfirmAction } from "@/components/ConfirmAction";
import { PageHeader } from "@/components/PageHeader";
import { ProblemAlert } from "@/components/ProblemAlert";

const route = getRouteApi("/app/envelopes/$envelopeId/edit");

export function EnvelopeBuilderPage() {
  const { envelopeId } = route.useParams();
  const envelope = useQuery(envelopeQuery(envelopeId));
  if (envelope.isPending) {
    return (
      <Center p="xl">
        <Loader aria-label="Loading the envelope" />
      </Center>
    );
  }
  if (envelope.isError) {
    return (
      <>
        <PageHeader title="Envelope" />
        <ProblemAlert error={envelope.error} />
      </>
    );
  }
  // A new key per envelope version starts the editor from what the server holds.
  return <Builder key={envelope.data.id} envelope={envelope.data} />;
}

function Builder({ envelope }: { envelope: EnvelopeRead }) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [fields, setFields] = useState<PlacedField[]>(() => placedFields(envelope.fields));
  const [dirty, setDirty] = useState(false);
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const draft = envelope.status === "draft";
  const parties = recipientParties(envelope.recipients);
  const signers = parties.filter((party) => envelope.recipients.some((r) => r.id === party.key && r.role === "signer"));
  const unsigned = signersWithoutSignature(signers, fields);
  const documents = builderDocuments(envelope.documents, (documentId, page, width) =>
    pageUrl(envelope.id, documentId, page, width),
  );

  const save = async () => {
    data(
      await api.PUT("/v1/envelopes/{envelope_id}/fields", {
        params: { path: { envelope_id: envelope.id } },
        body: { fields: fieldSpecs(fields) },
      }),
    );
    setDirty(false);
  };

  const saveNow = async () => {
    setSaving(true);
    setError(null);
    try {
      await save();
      notifications.show({ message: "Fields saved." });
    } catch (caught) {
      setError(caught);
    } finally {
      setSaving(false);
    }
  };

  const send = async () => {
    if (dirty) await save();
    data(await api.POST("/v1/envelopes/{envelope_id}/send", { params: { path: { envelope_id: envelope.id } } }));
    await queryClient.invalidateQueries({ queryKey: keys.all });
    notifications.show({ message: `${envelope.title} is on its way.` });
    await navigate({ to: "/envelopes/$envelopeId", params: { envelopeId: envelope.id } });
  };

  return (
    <>
      <Anchor size="sm" renderRoot={(props) => <Link {...props} to="/envelopes/$envelopeId" params={{ envelopeId: envelope.id }} />}>
        ← {envelope.title}
      </Anchor>
      <PageHeader
        title={`Place fields: ${envelope.title}`}
        description={<StatusBadge status={envelope.status} />}
        actions={
          draft && (
            <>
              <Button variant="default" onClick={saveNow} loading={saving} disabled={!dirty}>
                {dirty ? "Save fields" : "Saved"}
              </Button>
              <ConfirmAction
                label="Send"
                title={`Send ${envelope.title}?`}
                confirmColor="blue"
                color="blue"
                variant="filled"
                consequence={
                  <Stack gap={4}>
                    <Text size="sm">
                      The fields are saved, the documents are fixed as they are now, and the first group of recipients
                      receives the signing email. Later groups receive it once everyone before them has signed.
                    </Text>
                    {unsigned.length > 0 && (
                      <Text size="sm" c="red.8">
                        No signature field yet for {unsigned.map((party) => party.label).join(", ")}.
                      </Text>
                    )}
                  </Stack>
                }
                onConfirm={send}
              />
            </>
          )
        }
      />
      {!draft && (
        <Alert color="gray" mb="md" title="This envelope has been sent">
          Its fields can no longer change; they are shown as the recipients see them.
        </Alert>
      )}
      <ProblemAlert error={error} />
      <Group mb="xs">
        <Text size="sm" c="gray.7" aria-live="polite">
          {dirty ? "Unsaved changes." : `${fields.length} field${fields.length === 1 ? "" : "s"} placed.`}
        </Text>
      </Group>
      <FieldBuilder
        documents={documents}
        parties={parties}
        fields={fields}
        onChange={(next) => {
          setFields(next);
          setDirty(true);
        }}
        partyNoun="Recipients"
        readOnly={!draft}
      />
    </>
  );
}
