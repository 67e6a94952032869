import {
  Button,
  Card,
  Code,
  CopyButton,
  Group,
  List,
  PasswordInput,
  Skeleton,
  Stack,
  Table,
  Text,
  Title,
  VisuallyHidden,
} from "@mantine/core";
import { useQuery, useQueryClient } from "@tanstack/react-query";

import { secretKeyQuery, webhookSecretsQuery, webhookUrl } from "./stripeQueries";
import { api, data } from "@/api/client";
import { useMe } from "@/app/session";
import { ConfirmAction } from "@/components/ConfirmAction";
import { EmptyState } from "@/components/EmptyState";
import { PageHeader } from "@/components/PageHeader";
import { ProblemAlert } from "@/components/ProblemAlert";
import { useApiForm } from "@/components/useApiForm";
import { formatDateTime } from "@/lib/format";

// The event types firmflow acts on (services/billing/stripe_webhooks.py HANDLED).
const EVENTS = [
  "checkout.session.completed",
  "payment_intent.succeeded",
  "payment_intent.payment_failed",
  "charge.refunded",
  "charge.dispute.created",
  "charge.dispute.updated",
  "charge.dispute.closed",
];

/** The firm's Stripe connection: its secret key and the webhook's signing secrets. */
export function StripeSettingsPage() {
  return (
    <>
      <PageHeader
        title="Stripe"
        description="Connect the firm's Stripe account so clients can pay invoices online. Keys are write-only: once saved, only their last characters are shown."
      />
      <Stack gap="xl">
        <SecretKeySection />
        <WebhookSection />
      </Stack>
    </>
  );
}

function SecretKeySection() {
  const queryClient = useQueryClient();
  const status = useQuery(secretKeyQuery);
  const { form, error, unplaced, submit, submitting } = useApiForm({
    initialValues: { secret_key: "" },
  });
  const save = submit(async (values) => {
    const saved = data(await api.PUT("/v1/billing/stripe/secret-key", { body: values }));
    queryClient.setQueryData(secretKeyQuery.queryKey, saved);
    form.reset();
  });
  const remove = async () => {
    await api.DELETE("/v1/billing/stripe/secret-key");
    await queryClient.invalidateQueries({ queryKey: secretKeyQuery.queryKey });
  };

  return (
    <Card withBorder padding="lg" component="section" aria-labelledby="secret-key-heading">
      <Title order={2} size="h4" id="secret-key-heading" mb="xs">
        Secret key
      </Title>
      {status.error ? (
        <ProblemAlert error={status.error} />
      ) : !status.data ? (
        <Skeleton height={24} width="50%" />
      ) : status.data.configured ? (
        <Group gap="sm" mb="sm" data-testid="secret-key-status">
          <Text size="sm">
            Connected: the key ending in <Code>{status.data.hint}</Code>,{" "}
            {status.data.livemode ? "live mode (real payments)" : "test mode (no real money moves)"}.
          </Text>
          <ConfirmAction
            label="Remove key"
            title="Remove the Stripe secret key?"
            consequence="Clients can no longer pay invoices online, and saved cards are no longer charged, until a key is saved again. Payments already made are kept."
            onConfirm={remove}
            size="xs"
          />
        </Group>
      ) : (
        <Text size="sm" mb="sm" data-testid="secret-key-status">
          Not connected: clients cannot pay online yet. Paste the secret key (sk_…) or a
          restricted key (rk_…) from Stripe's dashboard, under Developers → API keys.
        </Text>
      )}
      <form onSubmit={save} noValidate>
        <Stack gap="sm" maw={520}>
          <PasswordInput
            label={status.data?.configured ? "New secret key" : "Secret key"}
            autoComplete="off"
            required
            {...form.getInputProps("secret_key")}
          />
          <ProblemAlert error={error} unplaced={unplaced} />
          <Group>
            <Button type="submit" loading={submitting}>
              Save key
            </Button>
          </Group>
        </Stack>
      </form>
    </Card>
  );
}

function WebhookSection() {
  const { firm } = useMe();
  const queryClient = useQueryClient();
  const secrets = useQuery(webhookSecretsQuery);
  const url = webhookUrl(window.location.origin, firm.id);
  const { form, error, unplaced, submit, submitting } = useApiForm({
    initialValues: { secrets: [{ secret: "" }] },
  });
  const refresh = () => queryClient.invalidateQueries({ queryKey: webhookSecretsQuery.queryKey });
  const add = submit(async (values) => {
    await api.POST("/v1/billing/stripe/webhook-secrets", { body: values });
    form.reset();
    await refresh();
  });

  return (
    <Card withBorder padding="lg" component="section" aria-labelledby="webhook-heading">
      <Title order={2} size="h4" id="webhook-heading" mb="xs">
        Webhook
      </Title>
      <Text size="sm">
        In Stripe's dashboard (Developers → Webhooks), add an endpoint with this URL, so
        firmflow hears of payments, refunds and disputes:
      </Text>
      <Group gap="xs" my="sm" wrap="nowrap">
        <Code block data-testid="webhook-url" style={{ flex: 1, overflowWrap: "anywhere" }}>
          {url}
        </Code>
        <CopyButton value={url}>
          {({ copied, copy }) => (
            <Button variant="default" size="xs" onClick={copy}>
              {copied ? "Copied" : "Copy URL"}
            </Button>
          )}
        </CopyButton>
      </Group>
      <Text size="sm">Select these events:</Text>
      <List size="sm" mb="md">
        {EVENTS.map((name) => (
          <List.Item key={name}>
            <Code>{name}</Code>
          </List.Item>
        ))}
      </List>
      <Text size="sm" mb="sm">
        Then reveal the endpoint's signing secret (whsec_…) and add it here. While Stripe rolls
        a secret, add the new one too: events signed with either are accepted.
      </Text>

      <Title order={3} size="h5" mb="xs">
        Signing secrets
      </Title>
      {secrets.error ? (
        <ProblemAlert error={secrets.error} />
      ) : !secrets.data ? (
        <Skeleton height={60} />
      ) : secrets.data.items.length === 0 ? (
        <EmptyState title="No signing secret yet">
          Stripe's events are refused until the endpoint's signing secret is added below.
        </EmptyState>
      ) : (
        <Table aria-label="Webhook signing secrets" mb="md">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Secret</Table.Th>
              <Table.Th>Added</Table.Th>
              <Table.Th>Expires</Table.Th>
              <Table.Th>
                <VisuallyHidden>Actions</VisuallyHidden>
              </Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {secrets.data.items.map((secret) => (
              <Table.Tr key={secret.id}>
                <Table.Td>
                  <Code>{secret.hint}</Code>
                </Table.Td>
                <Table.Td>{formatDateTime(secret.created_at, firm.time_zone)}</Table.Td>
                <Table.Td>
                  {secret.expires_at ? formatDateTime(secret.expires_at, firm.time_zone) : "Never"}
                </Table.Td>
                <Table.Td>
                  <ConfirmAction
                    label="Remove"
                    aria-label={`Remove the secret ending in ${secret.hint}`}
                    title="Remove this signing secret?"
                    consequence={`Events Stripe signs with the secret ending in ${secret.hint} will be refused from now on. Remove it only once Stripe no longer uses it.`}
                    onConfirm={async () => {
                      await api.DELETE("/v1/billing/stripe/webhook-secrets/{secret_id}", {
                        params: { path: { secret_id: secret.id } },
                      });
                      await refresh();
                    }}
                    size="xs"
                  />
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      <form onSubmit={add} noValidate>
        <Stack gap="sm" maw={520}>
          <PasswordInput
            label="Signing secret"
            autoComplete="off"
            required
            {...form.getInputProps("secrets.0.secret")}
          />
          <ProblemAlert error={error} unplaced={unplaced} />
          <Group>
            <Button type="submit" loading={submitting}>
              Add signing secret
            </Button>
          </Group>
        </Stack>
      </form>
    </Card>
  );
}
