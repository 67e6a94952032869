import { Anchor, Group, SegmentedControl, Select, Skeleton, Stack, Table } from "@mantine/core";
import { useInfiniteQuery } from "@tanstack/react-query";
import { Link, useNavigate } from "@tanstack/react-router";

import { approvalsQuery, STATUS_LABELS, type Approval, type ApprovalListQuery } from "./approvalQueries";
import { approvalsRoute, parseApprovalsSearch, type ApprovalsSearch } from "./routes";
import { ApprovalStatusBadge } from "./StatusBadge";
import { useMe } from "@/app/session";
import { EmptyState } from "@/components/EmptyState";
import { allItems, LoadMore } from "@/components/LoadMore";
import { PageHeader } from "@/components/PageHeader";
import { ProblemAlert } from "@/components/ProblemAlert";
import { formatDateTime } from "@/lib/format";

function listQuery(search: ApprovalsSearch): ApprovalListQuery {
  if (search.view !== "all") return { mine: true, status: "pending" };
  return search.status ? { status: search.status } : {};
}

export function ApprovalsPage() {
  const search = approvalsRoute.useSearch();
  const navigate = useNavigate({ from: "/approvals" });
  const approvals = useInfiniteQuery(approvalsQuery(listQuery(search)));
  const items = allItems(approvals.data?.pages);
  const setSearch = (next: Record<string, unknown>) =>
    navigate({ search: parseApprovalsSearch(next), replace: true });

  return (
    <>
      <PageHeader
        title="Approvals"
        description="Decisions automation runs wait for. Open one to see what is asked and decide."
      />
      <Stack>
        <Group align="flex-end" gap="sm">
          <SegmentedControl
            aria-label="Which approvals"
            value={search.view ?? "mine"}
            onChange={(view) => setSearch({ view })}
            data={[
              { value: "mine", label: "Waiting on me" },
              { value: "all", label: "All approvals" },
            ]}
          />
          {search.view === "all" && (
            <Select
              label="Status"
              placeholder="Any status"
              clearable
              data={Object.entries(STATUS_LABELS).map(([value, label]) => ({ value, label }))}
              value={search.status ?? null}
              onChange={(status) => setSearch({ view: "all", status })}
              w={180}
            />
          )}
        </Group>
        <ProblemAlert error={approvals.error} />
        {approvals.isPending ? (
          <Skeleton height={160} aria-hidden />
        ) : items.length === 0 ? (
          <EmptyState
            title={search.view === "all" ? "No approvals match" : "Nothing waits for your decision"}
          >
            {search.view === "all"
              ? "Approval steps of automation runs show here once a run reaches one."
              : "When an automation asks you to decide, it shows here and you get an email. See all approvals for decided ones."}
          </EmptyState>
        ) : (
          <>
            <ApprovalsTable approvals={items} />
            <LoadMore {...approvals} />
          </>
        )}
      </Stack>
    </>
  );
}

function ApprovalsTable({ approvals }: { approvals: Approval[] }) {
  const { firm } = useMe();
  return (
    <Table.ScrollContainer minWidth={640}>
      <Table aria-label="Approvals" verticalSpacing="xs" highlightOnHover>
        <Table.Thead>
          <Table.Tr>
            <Table.Th>What is asked</Table.Th>
            <Table.Th>Status</Table.Th>
            <Table.Th>Asked</Table.Th>
            <Table.Th>Decided</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {approvals.map((approval) => (
            <Table.Tr key={approval.id}>
              <Table.Td>
                <Anchor component={Link} to={`/approvals/${approval.id}`}>
                  {approval.title}
                </Anchor>
              </Table.Td>
              <Table.Td>
                <ApprovalStatusBadge status={approval.status} />
              </Table.Td>
              <Table.Td>{formatDateTime(approval.created_at, firm.time_zone)}</Table.Td>
              <Table.Td>{formatDateTime(approval.decided_at, firm.time_zone)}</Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}
