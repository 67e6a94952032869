import { Alert, Anchor, Center, Loader, Paper, SimpleGrid, Stack, Text } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import { getRouteApi, Link } from "@tanstack/react-router";

import { StatusBadge } from "./badges";
import { DocumentsSection } from "./DocumentsSection";
import { EnvelopeActions } from "./EnvelopeActions";
import { envelopeQuery } from "./queries";
import { RecipientsSection } from "./RecipientsSection";
import { PROVIDER_LABELS } from "./status";
import { Timeline } from "./Timeline";
import type { EnvelopeRead } from "./types";
import { ApiProblem } from "@/api/problem";
import { useMe } from "@/app/session";
import { PageHeader } from "@/components/PageHeader";
import { ProblemAlert } from "@/components/ProblemAlert";
import { formatDateTime } from "@/lib/format";

const route = getRouteApi("/app/envelopes/$envelopeId");

export function EnvelopePage() {
  const { envelopeId } = route.useParams();
  const envelope = useQuery({
    ...envelopeQuery(envelopeId),
    // A sent envelope changes as recipients act: the page follows without a reload.
    refetchInterval: (query) => (query.state.data?.status === "sent" ? 10_000 : false),
  });

  if (envelope.isPending) {
    return (
      <Center p="xl">
        <Loader aria-label="Loading the envelope" />
      </Center>
    );
  }
  if (envelope.isError) {
    const missing = envelope.error instanceof ApiProblem && (envelope.error.status === 404 || envelope.error.status === 422);
    return (
      <>
        <PageHeader title={missing ? "Envelope not found" : "Envelope"} />
        {missing ? (
          <Text>
            No envelope of your firm is at this address.{" "}
            <Anchor component={Link} to="/envelopes">
              Back to the envelopes
            </Anchor>
          </Text>
        ) : (
          <ProblemAlert error={envelope.error} />
        )}
      </>
    );
  }
  return <EnvelopeDetail envelope={envelope.data} />;
}

function EnvelopeDetail({ envelope }: { envelope: EnvelopeRead }) {
  const { firm } = useMe();
  const zone = firm.time_zone;
  return (
    <>
      <Anchor component={Link} to="/envelopes" size="sm">
        ← Envelopes
      </Anchor>
      <PageHeader
        title={envelope.title}
        description={<StatusBadge status={envelope.status} />}
        actions={<EnvelopeActions envelope={envelope} />}
      />
      {envelope.status === "voided" && (
        <Alert color="gray" title="Voided" mb="md">
          {formatDateTime(envelope.voided_at, zone)}: {envelope.void_reason}
        </Alert>
      )}
      <Stack gap="xl">
        <Paper withBorder p="md" component="section" aria-label="Summary">
          <SimpleGrid cols={{ base: 1, sm: 2, md: 4 }}>
            <Fact label="Provider" value={PROVIDER_LABELS[envelope.provider] ?? envelope.provider} />
            <Fact label="Sent" value={formatDateTime(envelope.sent_at, zone)} />
            <Fact label="Expires" value={envelope.expires_at ? formatDateTime(envelope.expires_at, zone) : `${envelope.expiry_days} days after sending`} />
            <Fact
              label="Reminders"
              value={
                envelope.reminder_max === 0
                  ? "None"
                  : `After ${envelope.reminder_first_days} days, then every ${envelope.reminder_every_days}, at most ${envelope.reminder_max}`
              }
            />
            {envelope.completed_at && <Fact label="Completed" value={formatDateTime(envelope.completed_at, zone)} />}
            {envelope.declined_at && <Fact label="Declined" value={formatDateTime(envelope.declined_at, zone)} />}
          </SimpleGrid>
          {envelope.message && (
            <Text size="sm" mt="sm" style={{ whiteSpace: "pre-wrap" }}>
              {envelope.message}
            </Text>
          )}
        </Paper>
        <DocumentsSection envelope={envelope} />
        <RecipientsSection envelope={envelope} />
        <Timeline envelope={envelope} />
      </Stack>
    </>
  );
}

function Fact({ label, value }: { label: string; value: string }) {
  return (
    <Stack gap={0}>
      <Text size="xs" c="gray.7">
        {label}
      </Text>
      <Text size="sm">{value}</Text>
    </Stack>
  );
}
