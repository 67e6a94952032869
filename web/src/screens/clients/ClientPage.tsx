import { Alert, Anchor, Center, Group, Loader, Paper, SimpleGrid, Stack, Tabs, Text, Title } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import { getRouteApi, Link } from "@tanstack/react-router";

import { ArchiveToggle, DunningToggle, EditClientButton } from "./ClientActions";
import { ClientStatusBadge } from "./ClientStatusBadge";
import { ContactsSection } from "./ContactsSection";
import { InvoicesSection, PaymentsSection } from "./BillingSections";
import { TasksSection } from "./TasksSection";
import { AutomationRunsSection, TimelineSection } from "./TimelineSection";
import { clientQuery, type Client } from "./queries";
import { CLIENT_TABS, capitalized, type ClientTab } from "./search";
import { ApiProblem } from "@/api/problem";
import { ClientDocuments } from "@/screens/documents/ClientDocuments";
import { useMe } from "@/app/session";
import { PageHeader } from "@/components/PageHeader";
import { ProblemAlert } from "@/components/ProblemAlert";
import { formatDateTime } from "@/lib/format";

const route = getRouteApi("/app/clients/$clientId");

const TAB_LABELS: Record<ClientTab, string> = {
  overview: "Overview and contacts",
  invoices: "Invoices",
  payments: "Payments and credit",
  tasks: "Tasks",
  documents: "Documents",
  automations: "Automation runs",
  timeline: "Timeline",
};

/** The API hides another firm's client and a malformed id alike: both are not found here. */
function isNotFound(error: unknown): boolean {
  return error instanceof ApiProblem && (error.status === 404 || error.status === 422);
}

export function ClientPage() {
  const { clientId } = route.useParams();
  const client = useQuery(clientQuery(clientId));

  if (client.isPending) {
    return (
      <Center p="xl">
        <Loader aria-label="Loading the client" />
      </Center>
    );
  }
  if (client.isError) {
    if (isNotFound(client.error)) return <ClientNotFound />;
    return (
      <>
        <PageHeader title="Client" />
        <ProblemAlert error={client.error} />
      </>
    );
  }
  return <ClientDetail client={client.data} />;
}

function ClientNotFound() {
  return (
    <>
      <PageHeader title="Client not found" />
      <Paper withBorder p="lg" maw={640}>
        <Stack gap="xs">
          <Text>
            No client of your firm is at this address. The link may be incomplete, or it may point to a client
            of another firm.
          </Text>
          <Anchor component={Link} to="/clients" underline="always">
            Back to the clients
          </Anchor>
        </Stack>
      </Paper>
    </>
  );
}

function ClientDetail({ client }: { client: Client }) {
  const { firm } = useMe();
  const { tab = "overview" } = route.useSearch();
  const navigate = route.useNavigate();
  const archived = client.archived_at !== null;

  return (
    <>
      <Anchor component={Link} to="/clients" size="sm">
        ← Clients
      </Anchor>
      <PageHeader
        title={client.name}
        description={
          <Group gap="xs" component="span">
            <ClientStatusBadge client={client} />
            <span>{capitalized(client.kind)}</span>
            {client.dunning_paused && <span>· payment reminders paused</span>}
          </Group>
        }
        actions={
          <>
            <EditClientButton client={client} />
            <DunningToggle client={client} />
            <ArchiveToggle client={client} />
          </>
        }
      />
      {archived && (
        <Alert color="gray" title="This client is archived" mb="md">
          Archived on {formatDateTime(client.archived_at, firm.time_zone)}. It is hidden from the client list and
          read-only until it is unarchived; its history stays here.
        </Alert>
      )}
      <Tabs
        value={tab}
        onChange={(value) => {
          const next = CLIENT_TABS.find((candidate) => candidate === value);
          void navigate({ search: next && next !== "overview" ? { tab: next } : {}, replace: true });
        }}
        keepMounted={false}
      >
        <Tabs.List aria-label="Client sections" mb="md">
          {CLIENT_TABS.map((value) => (
            <Tabs.Tab key={value} value={value}>
              {TAB_LABELS[value]}
            </Tabs.Tab>
          ))}
        </Tabs.List>
        <Tabs.Panel value="overview">
          <Stack gap="xl">
            <Details client={client} />
            <ContactsSection client={client} />
          </Stack>
        </Tabs.Panel>
        <Tabs.Panel value="invoices">
          <InvoicesSection client={client} />
        </Tabs.Panel>
        <Tabs.Panel value="payments">
          <PaymentsSection client={client} />
        </Tabs.Panel>
        <Tabs.Panel value="tasks">
          <TasksSection client={client} />
        </Tabs.Panel>
        <Tabs.Panel value="documents">
          <ClientDocuments clientId={client.id} />
        </Tabs.Panel>
        <Tabs.Panel value="automations">
          <AutomationRunsSection client={client} />
        </Tabs.Panel>
        <Tabs.Panel value="timeline">
          <TimelineSection client={client} />
        </Tabs.Panel>
      </Tabs>
    </>
  );
}

function Details({ client }: { client: Client }) {
  const { firm } = useMe();
  const rows: [string, string][] = [
    ["Email", client.email ?? "—"],
    ["Phone", client.phone ?? "—"],
    ["Tags", client.tags.join(", ") || "—"],
    ["External reference", client.external_ref ?? "—"],
    ["Created", formatDateTime(client.created_at, firm.time_zone)],
    ["Last changed", formatDateTime(client.updated_at, firm.time_zone)],
  ];
  const custom = Object.entries(client.custom_fields);
  return (
    <section aria-labelledby="client-details">
      <Title order={2} size="h4" id="client-details" mb="xs">
        Details
      </Title>
      <SimpleGrid cols={{ base: 1, sm: 2, md: 3 }} component="dl" spacing="sm" m={0}>
        {[...rows, ...custom.map(([key, value]): [string, string] => [key, JSON.stringify(value)])].map(
          ([label, value]) => (
            <div key={label}>
              <Text component="dt" size="xs" c="gray.7">
                {label}
              </Text>
              <Text component="dd" m={0}>
                {value}
              </Text>
            </div>
          ),
        )}
      </SimpleGrid>
    </section>
  );
}
