import { Alert, Anchor, Button, Center, Loader, Modal, Paper, Stack, Text } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { notifications } from "@mantine/notifications";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { getRouteApi, Link, useNavigate } from "@tanstack/react-router";
import { useState } from "react";

import { DocumentBadges } from "./badges";
import { DetailsSection } from "./DetailsSection";
import { RestoreFromBin } from "./DocumentLibrary";
import { downloadVersion } from "./download";
import { PlaceHold } from "./LegalHolds";
import { documentQuery, keys } from "./queries";
import { ReviewPanel } from "./ReviewPanel";
import type { DocumentRead } from "./types";
import { VersionsSection } from "./VersionsSection";
import { api, data } from "@/api/client";
import { ApiProblem } from "@/api/problem";
import { useMe } from "@/app/session";
import { ConfirmAction } from "@/components/ConfirmAction";
import { PageHeader } from "@/components/PageHeader";
import { ProblemAlert } from "@/components/ProblemAlert";
import { formatDateTime } from "@/lib/format";

const route = getRouteApi("/app/documents/$documentId");

/** The API hides another firm's document and a malformed id alike: both are not found here. */
function isNotFound(error: unknown): boolean {
  return error instanceof ApiProblem && (error.status === 404 || error.status === 422);
}

export function DocumentPage() {
  const { documentId } = route.useParams();
  const document = useQuery(documentQuery(documentId));

  if (document.isPending) {
    return (
      <Center p="xl">
        <Loader aria-label="Loading the document" />
      </Center>
    );
  }
  if (document.isError) {
    if (isNotFound(document.error)) return <DocumentNotFound />;
    return (
      <>
        <PageHeader title="Document" />
        <ProblemAlert error={document.error} />
      </>
    );
  }
  return <DocumentDetail document={document.data} />;
}

function DocumentNotFound() {
  return (
    <>
      <PageHeader title="Document not found" />
      <Paper withBorder p="lg" maw={640}>
        <Stack gap="xs">
          <Text>
            No document of your firm is at this address. It may have been deleted for good, or the link may point to
            another firm&apos;s document.
          </Text>
          <Anchor component={Link} to="/documents" underline="always">
            Back to the documents
          </Anchor>
        </Stack>
      </Paper>
    </>
  );
}

function DocumentDetail({ document }: { document: DocumentRead }) {
  const { firm, user } = useMe();
  // Holds are documents:manage, the owners' and admins'.
  const manager = user.role === "owner" || user.role === "admin";
  const deleted = document.deleted_at !== null && document.deleted_at !== undefined;
  return (
    <>
      <Anchor component={Link} to="/documents" size="sm">
        ← Documents
      </Anchor>
      <PageHeader
        title={document.title}
        description={<DocumentBadges status={document.status} legalHold={document.legal_hold} />}
        actions={
          deleted ? (
            <RestoreFromBin document={document} />
          ) : (
            <>
              <DownloadCurrent document={document} />
              {!document.legal_hold && manager && <HoldButton document={document} />}
              <DeleteDocument document={document} />
            </>
          )
        }
      />
      {deleted && (
        <Alert color="gray" title="This document is in the bin" mb="md">
          Deleted on {formatDateTime(document.deleted_at, firm.time_zone)}. Restore it within 30 days of that, or it is
          deleted for good.
        </Alert>
      )}
      {document.legal_hold && (
        <Alert color="gray" title="Under legal hold" mb="md">
          Nothing deletes this document while the hold lasts: not a person, not a retention policy. Holds are placed
          and released under Settings → Documents.
        </Alert>
      )}
      <Stack gap="xl">
        <DetailsSection document={document} />
        <VersionsSection document={document} />
        <ReviewPanel document={document} />
      </Stack>
    </>
  );
}

function DownloadCurrent({ document }: { document: DocumentRead }) {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const version = document.current_version;
  if (!version) return null;
  return (
    <Stack gap={4}>
      <Button
        loading={busy}
        onClick={async () => {
          setBusy(true);
          setError(null);
          try {
            await downloadVersion(document.id, version.id);
          } catch (caught) {
            setError(caught);
          } finally {
            setBusy(false);
          }
        }}
      >
        Download the current version (v{version.number})
      </Button>
      <ProblemAlert error={error} />
    </Stack>
  );
}

function DeleteDocument({ document }: { document: DocumentRead }) {
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  return (
    <ConfirmAction
      label="Delete"
      title={`Delete ${document.title}?`}
      consequence="It goes to the bin with every version; it can be restored from there for 30 days, then it is deleted for good. A legal hold refuses this."
      onConfirm={async () => {
        data(await api.DELETE("/v1/documents/{document_id}", { params: { path: { document_id: document.id } } }));
        notifications.show({ message: `${document.title} is in the bin.` });
        await queryClient.invalidateQueries({ queryKey: keys.all });
        await navigate({ to: "/documents" });
      }}
    />
  );
}

function HoldButton({ document }: { document: DocumentRead }) {
  const [opened, { open, close }] = useDisclosure(false);
  return (
    <>
      <Button variant="default" onClick={open}>
        Place legal hold
      </Button>
      <Modal opened={opened} onClose={close} title={`Place a legal hold on ${document.title}`} closeButtonProps={{ "aria-label": "Close" }}>
        <PlaceHold documentId={document.id} onPlaced={close} />
      </Modal>
    </>
  );
}
