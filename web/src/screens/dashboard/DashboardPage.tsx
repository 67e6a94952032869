import { SimpleGrid } from "@mantine/core";

import { ApprovalsPanel } from "./ApprovalsPanel";
import { CollectionsPanel } from "./CollectionsPanel";
import { FailedRunsPanel } from "./FailedRunsPanel";
import { MyTasksPanel } from "./MyTasksPanel";
import { AgingPanel, RevenuePanel } from "./ReportPanels";
import { useMe } from "@/app/session";
import { PageHeader } from "@/components/PageHeader";

/**
 * The firm at a glance. Every panel asks for a few rows through an index (or a report's
 * own aggregates) and shows its skeleton until they come, so the page paints at once
 * whatever the firm's size.
 */
export function DashboardPage() {
  const me = useMe();
  return (
    <>
      <PageHeader title="Dashboard" description={`Welcome, ${me.user.name || me.user.email}.`} />
      <SimpleGrid cols={{ base: 1, lg: 2 }} spacing="md">
        <MyTasksPanel />
        <ApprovalsPanel />
        <AgingPanel />
        <RevenuePanel />
        <CollectionsPanel />
        <FailedRunsPanel />
      </SimpleGrid>
    </>
  );
}
