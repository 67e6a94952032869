import "@mantine/dates/styles.css";

import { Alert, Anchor, Group, List, Paper, Skeleton, Stack, Text, Title } from "@mantine/core";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { Link } from "@tanstack/react-router";
import { useState } from "react";

import { fieldLabel } from "./approvalForm";
import { approvalQuery, type ApprovalDetail } from "./approvalQueries";
import { DecisionForm } from "./DecisionForm";
import { approvalRoute } from "./routes";
import { ApprovalStatusBadge } from "./StatusBadge";
import { useMe } from "@/app/session";
import { PageHeader } from "@/components/PageHeader";
import { ProblemAlert } from "@/components/ProblemAlert";
import { formatDateTime } from "@/lib/format";
import { useUserName } from "@/screens/tasks/lookups";

/** One approval, as its email links to it: what is asked, then the decision or its outcome. */
export function ApprovalPage() {
  const { approvalId } = approvalRoute.useParams();
  const queryClient = useQueryClient();
  const approval = useQuery(approvalQuery(approvalId));
  // A decision the API refused because the approval moved on (someone decided first, or
  // this member already voted): shown above the approval as it now stands.
  const [refused, setRefused] = useState<unknown>(null);

  const onRefused = async (error: unknown) => {
    setRefused(error);
    await queryClient.invalidateQueries({ queryKey: ["approvals"] });
  };
  const onDecided = async (detail: ApprovalDetail) => {
    setRefused(null);
    queryClient.setQueryData(approvalQuery(approvalId).queryKey, detail);
    await queryClient.invalidateQueries({ queryKey: ["approvals", "list"] });
  };

  if (approval.isPending) {
    return (
      <>
        <PageHeader title="Approval" />
        <Skeleton height={240} aria-hidden />
      </>
    );
  }
  if (approval.isError) {
    return (
      <>
        <PageHeader title="Approval" />
        <ProblemAlert error={approval.error} />
      </>
    );
  }
  const detail = approval.data;
  return (
    <>
      <PageHeader
        title={detail.title}
        description={
          <Anchor component={Link} to="/approvals">
            All approvals
          </Anchor>
        }
      />
      <Stack maw={720}>
        <ProblemAlert error={refused} />
        <Summary detail={detail} />
        {detail.status === "pending" ? (
          <Pending detail={detail} onDecided={onDecided} onRefused={onRefused} />
        ) : (
          <Outcome detail={detail} />
        )}
        <Votes detail={detail} />
      </Stack>
    </>
  );
}

function Summary({ detail }: { detail: ApprovalDetail }) {
  const { firm } = useMe();
  return (
    <Paper withBorder p="md" radius="md">
      <Group gap="sm" mb="xs">
        <ApprovalStatusBadge status={detail.status} />
        <Text size="sm" c="gray.7">
          Asked {formatDateTime(detail.created_at, firm.time_zone)}
          {detail.expires_at && ` · decide by ${formatDateTime(detail.expires_at, firm.time_zone)}`}
        </Text>
      </Group>
      {detail.message ? (
        <Text style={{ whiteSpace: "pre-wrap" }}>{detail.message}</Text>
      ) : (
        <Text c="gray.7">No message came with this request.</Text>
      )}
      {detail.quorum > 1 && (
        <Text size="sm" mt="xs">
          Needs {detail.quorum} approvals; one rejection rejects. So far: {detail.approvals} approved.
        </Text>
      )}
    </Paper>
  );
}

interface PendingProps {
  detail: ApprovalDetail;
  onDecided: (detail: ApprovalDetail) => Promise<void>;
  onRefused: (error: unknown) => Promise<void>;
}

function Pending({ detail, onDecided, onRefused }: PendingProps) {
  const { user } = useMe();
  const voted = detail.votes.some((vote) => vote.user_id === user.id);
  const approver =
    detail.approvers.users.includes(user.id) || detail.approvers.roles.includes(user.role);
  const initiatorBarred = !detail.allow_initiator && detail.initiator_id === user.id;
  if (!approver || initiatorBarred) {
    return (
      <Alert color="gray" title="Not yours to decide">
        {initiatorBarred
          ? "You started this run, and this step lets only someone else approve it."
          : "You are not one of its approvers; it waits for them."}
      </Alert>
    );
  }
  if (voted) {
    return (
      <Alert color="blue" title="You have voted">
        It waits for {detail.quorum - detail.approvals} more approval
        {detail.quorum - detail.approvals === 1 ? "" : "s"} from the other approvers.
      </Alert>
    );
  }
  return (
    <Paper withBorder p="md" radius="md">
      <Title order={2} size="h4" mb="sm">
        Your decision
      </Title>
      <DecisionForm detail={detail} onDecided={onDecided} onRefused={onRefused} />
    </Paper>
  );
}

function Outcome({ detail }: { detail: ApprovalDetail }) {
  const { firm } = useMe();
  const result = Object.entries(detail.result ?? {});
  const outcome: Record<string, string> = {
    approved: "This was approved; the run goes on with the form below.",
    rejected: "This was rejected; the run takes its rejected path.",
    expired: "Nobody decided in time; the run took its timeout path.",
    canceled: "The run was canceled while it waited; nothing is left to decide.",
  };
  return (
    <Paper withBorder p="md" radius="md">
      <Title order={2} size="h4" mb="xs">
        Decided
      </Title>
      <Text>
        {outcome[detail.status]}{" "}
        {detail.decided_at && `(${formatDateTime(detail.decided_at, firm.time_zone)})`}
      </Text>
      {result.length > 0 && (
        <List mt="xs" size="sm" aria-label="The form as approved">
          {result.map(([name, value]) => (
            <List.Item key={name}>
              {detail.form[name] ? fieldLabel(name, detail.form[name]) : name}: {String(value)}
            </List.Item>
          ))}
        </List>
      )}
    </Paper>
  );
}

function Votes({ detail }: { detail: ApprovalDetail }) {
  const { firm } = useMe();
  const userName = useUserName();
  if (detail.votes.length === 0) return null;
  return (
    <Paper withBorder p="md" radius="md">
      <Title order={2} size="h4" mb="xs">
        Votes
      </Title>
      <List spacing="xs" size="sm">
        {detail.votes.map((vote) => (
          <List.Item key={`${vote.user_id}-${vote.created_at}`}>
            <Text size="sm">
              <strong>{userName(vote.user_id)}</strong> {vote.decision === "approve" ? "approved" : "rejected"}{" "}
              on {formatDateTime(vote.created_at, firm.time_zone)}
            </Text>
            {vote.comment && (
              <Text size="sm" c="gray.7" style={{ whiteSpace: "pre-wrap" }}>
                “{vote.comment}”
              </Text>
            )}
          </List.Item>
        ))}
      </List>
    </Paper>
  );
}
