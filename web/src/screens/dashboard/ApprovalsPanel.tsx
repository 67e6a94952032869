import { Anchor, List, Text } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import { Link } from "@tanstack/react-router";

import { myApprovalsQuery } from "./dashboardQueries";
import { Panel, PanelSkeleton } from "./Panel";
import { useMe } from "@/app/session";
import { EmptyState } from "@/components/EmptyState";
import { ProblemAlert } from "@/components/ProblemAlert";
import { formatDateTime } from "@/lib/format";

export function ApprovalsPanel() {
  const { firm } = useMe();
  const approvals = useQuery(myApprovalsQuery);
  const items = approvals.data?.items ?? [];
  return (
    <Panel title="Approvals waiting on me" to="/approvals" linkLabel="All approvals">
      {approvals.isPending ? (
        <PanelSkeleton />
      ) : approvals.isError ? (
        <ProblemAlert error={approvals.error} />
      ) : items.length === 0 ? (
        <EmptyState title="Nothing waits for your decision">
          When an automation asks you to approve something, it shows here and you get an email.
        </EmptyState>
      ) : (
        <List spacing="xs" listStyleType="none" aria-label="Approvals waiting on me">
          {items.map((approval) => (
            <List.Item key={approval.id}>
              <Anchor component={Link} to={`/approvals/${approval.id}`}>
                {approval.title}
              </Anchor>
              <Text size="xs" c="gray.7">
                Asked {formatDateTime(approval.created_at, firm.time_zone)}
              </Text>
            </List.Item>
          ))}
        </List>
      )}
    </Panel>
  );
}
