import {
  Badge,
  Button,
  Checkbox,
  Group,
  Loader,
  MultiSelect,
  NumberInput,
  Paper,
  SimpleGrid,
  Stack,
  Table,
  Text,
  Textarea,
  Title,
} from "@mantine/core";
import { notifications } from "@mantine/notifications";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";

import { DocumentStatusBadge } from "./badges";
import { documentQuery, keys, usersQuery, versionQuery } from "./queries";
import { REVIEWER_ROLES, canVote, isReviewerRole, type ReviewerRole } from "./review";
import type { DocumentRead, ReviewRead } from "./types";
import { api, data } from "@/api/client";
import { useMe } from "@/app/session";
import { ConfirmAction } from "@/components/ConfirmAction";
import { EmptyState } from "@/components/EmptyState";
import { ProblemAlert } from "@/components/ProblemAlert";
import { useApiForm } from "@/components/useApiForm";
import { formatDateTime } from "@/lib/format";

const REVIEW_COLORS: Record<string, string> = {
  pending: "blue",
  approved: "green",
  rejected: "red",
  expired: "gray",
  canceled: "gray",
};

/** Draft → in review → approved → published: submitting, each review's votes, deciding, publishing. */
export function ReviewPanel({ document }: { document: DocumentRead }) {
  const reviews = useQuery({
    queryKey: keys.reviews(document.id),
    queryFn: async () =>
      data(
        await api.GET("/v1/documents/{document_id}/reviews", { params: { path: { document_id: document.id } } }),
      ),
  });
  const deleted = document.deleted_at !== null && document.deleted_at !== undefined;
  const list = reviews.data ?? [];

  return (
    <Paper withBorder p="md" component="section" aria-labelledby="document-review">
      <Group justify="space-between" mb="sm">
        <Title order={2} size="h4" id="document-review">
          Review
        </Title>
        <DocumentStatusBadge status={document.status} />
      </Group>
      <Stack gap="md">
        {!deleted && document.status === "draft" && document.current_version && <SubmitForReview document={document} />}
        {!deleted && document.status === "approved" &&
          (list.at(-1)?.auto_publish ? <AwaitPublishing document={document} /> : <Publish document={document} />)}
        {document.status === "published" && (
          <Text size="sm">This version is published. Uploading a new version starts a new draft.</Text>
        )}
        <ProblemAlert error={reviews.error} />
        {reviews.isSuccess && list.length === 0 ? (
          <EmptyState title="Not reviewed yet">
            Submit the current version for review: its reviewers are told, reminded in business hours, and the owner is
            told after the deadline.
          </EmptyState>
        ) : (
          list.map((review) => <ReviewCard key={review.id} document={document} review={review} />)
        )}
      </Stack>
    </Paper>
  );
}

interface SubmitValues extends Record<string, unknown> {
  reviewer_user_ids: string[];
  reviewer_roles: ReviewerRole[];
  quorum: number | string;
  deadline_days: number | string;
  message: string;
  auto_publish: boolean;
}

function SubmitForReview({ document }: { document: DocumentRead }) {
  const queryClient = useQueryClient();
  const users = useQuery(usersQuery);
  const { form, error, unplaced, submit, submitting } = useApiForm<SubmitValues>({
    initialValues: {
      reviewer_user_ids: document.reviewer_user_ids,
      reviewer_roles: document.reviewer_roles.filter(isReviewerRole),
      quorum: document.review_quorum,
      deadline_days: "",
      message: "",
      auto_publish: true,
    },
  });
  const send = submit(async (values) => {
    data(
      await api.POST("/v1/documents/{document_id}/reviews", {
        params: { path: { document_id: document.id } },
        body: {
          reviewer_user_ids: values.reviewer_user_ids,
          reviewer_roles: values.reviewer_roles,
          quorum: Number(values.quorum),
          deadline_days: values.deadline_days === "" ? undefined : Number(values.deadline_days),
          message: values.message.trim(),
          auto_publish: values.auto_publish,
        },
      }),
    );
    notifications.show({ message: "The document is in review; its reviewers are told.", color: "green" });
    await queryClient.invalidateQueries({ queryKey: keys.one(document.id) });
    await queryClient.invalidateQueries({ queryKey: keys.all });
  });

  return (
    <form onSubmit={send} noValidate aria-label="Submit for review">
      <Stack gap="sm">
        <Text size="sm">
          Submit v{document.current_version?.number} for review. Name reviewers, roles, or both; one rejection sends it
          back to draft with the comments.
        </Text>
        <SimpleGrid cols={{ base: 1, sm: 2 }} spacing="sm">
          <MultiSelect
            label="Reviewers"
            data={(users.data ?? []).map((user) => ({ value: user.id, label: user.name }))}
            searchable
            {...form.getInputProps("reviewer_user_ids")}
            key={form.key("reviewer_user_ids")}
          />
          <MultiSelect
            label="Reviewer roles"
            description="Anyone with one of these roles may vote"
            data={REVIEWER_ROLES.map((role) => ({ value: role, label: role }))}
            {...form.getInputProps("reviewer_roles")}
            key={form.key("reviewer_roles")}
          />
          <NumberInput
            label="Approvals needed (quorum)"
            min={1}
            max={20}
            allowDecimal={false}
            {...form.getInputProps("quorum")}
            key={form.key("quorum")}
          />
          <NumberInput
            label="Deadline in business days"
            description="Then the owner is told; 5 when empty"
            min={1}
            max={365}
            allowDecimal={false}
            {...form.getInputProps("deadline_days")}
            key={form.key("deadline_days")}
          />
        </SimpleGrid>
        <Textarea label="Message to the reviewers" autosize minRows={2} {...form.getInputProps("message")} key={form.key("message")} />
        <Checkbox
          label="Publish as soon as it is approved"
          {...form.getInputProps("auto_publish", { type: "checkbox" })}
          key={form.key("auto_publish")}
        />
        <ProblemAlert error={error} unplaced={unplaced} />
        <Group>
          <Button type="submit" loading={submitting}>
            Submit for review
          </Button>
        </Group>
      </Stack>
    </form>
  );
}

/** The review's workflow publishes an approved document it was asked to: the page follows until it has. */
function AwaitPublishing({ document }: { document: DocumentRead }) {
  useQuery({ ...documentQuery(document.id), refetchInterval: 1000 });
  return (
    <Group gap="xs" aria-live="polite">
      <Loader size="xs" aria-label="Publishing" />
      <Text size="sm">Approved: the document is being published.</Text>
    </Group>
  );
}

function Publish({ document }: { document: DocumentRead }) {
  const queryClient = useQueryClient();
  return (
    <Group>
      <Text size="sm">The review approved this version; publishing makes it the firm&apos;s published version.</Text>
      <ConfirmAction
        label="Publish"
        title={`Publish ${document.title}?`}
        consequence={`v${document.current_version?.number ?? ""} becomes the published version; a new upload starts a new draft.`}
        confirmColor="green"
        onConfirm={async () => {
          data(
            await api.POST("/v1/documents/{document_id}/publish", { params: { path: { document_id: document.id } } }),
          );
          notifications.show({ message: `${document.title} is published.`, color: "green" });
          await queryClient.invalidateQueries({ queryKey: keys.one(document.id) });
          await queryClient.invalidateQueries({ queryKey: keys.all });
        }}
      />
    </Group>
  );
}

function ReviewCard({ document, review }: { document: DocumentRead; review: ReviewRead }) {
  const { firm, user } = useMe();
  const users = useQuery(usersQuery);
  const nameOf = (userId: string) => users.data?.find((candidate) => candidate.id === userId)?.name ?? "A former member";
  const pending = review.status === "pending";
  const version = useQuery(versionQuery(document.id, review.version_id));
  const reviewers = [
    ...review.reviewer_user_ids.map(nameOf),
    ...review.reviewer_roles.map((role) => `every ${role}`),
  ];
  return (
    <Paper withBorder p="sm" radius="sm" data-review={review.id}>
      <Stack gap="xs">
        <Group justify="space-between">
          <Title order={3} size="h5">
            Review {review.round > 1 ? `round ${review.round} ` : ""}of v{version.data?.number ?? "…"}
          </Title>
          <Badge variant="light" color={REVIEW_COLORS[review.status] ?? "gray"}>
            {review.status}
          </Badge>
        </Group>
        <Text size="sm" c="gray.7">
          Submitted {formatDateTime(review.created_at, firm.time_zone)} · {review.quorum} approval
          {review.quorum === 1 ? "" : "s"} needed from {reviewers.join(", ") || "nobody named"}
          {review.deadline_at && ` · deadline ${formatDateTime(review.deadline_at, firm.time_zone)}`}
        </Text>
        {review.message && <Text size="sm">“{review.message}”</Text>}
        {review.votes.length > 0 && (
          <Table aria-label="Votes" withRowBorders={false}>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Reviewer</Table.Th>
                <Table.Th>Decision</Table.Th>
                <Table.Th>Comment</Table.Th>
                <Table.Th>When</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {review.votes.map((vote) => (
                <Table.Tr key={vote.user_id}>
                  <Table.Td>{nameOf(vote.user_id)}</Table.Td>
                  <Table.Td>
                    <Badge variant="light" color={vote.decision === "approve" ? "green" : "red"}>
                      {vote.decision === "approve" ? "approved" : "rejected"}
                    </Badge>
                  </Table.Td>
                  <Table.Td>{vote.comment ?? "—"}</Table.Td>
                  <Table.Td>{formatDateTime(vote.created_at, firm.time_zone)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
        {pending && canVote(review, user) && <Decide document={document} review={review} />}
        {pending && <Withdraw document={document} review={review} />}
      </Stack>
    </Paper>
  );
}

function Decide({ document, review }: { document: DocumentRead; review: ReviewRead }) {
  const queryClient = useQueryClient();
  const [comment, setComment] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState<"approve" | "reject" | null>(null);

  const decide = async (decision: "approve" | "reject") => {
    setBusy(decision);
    setError(null);
    try {
      data(
        await api.POST("/v1/documents/{document_id}/reviews/{review_id}/decision", {
          params: { path: { document_id: document.id, review_id: review.id } },
          body: { decision, comment: comment.trim() || null },
        }),
      );
      notifications.show({ message: decision === "approve" ? "You approved it." : "You rejected it.", color: "green" });
      setComment("");
      await queryClient.invalidateQueries({ queryKey: keys.one(document.id) });
      await queryClient.invalidateQueries({ queryKey: keys.all });
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(null);
    }
  };

  return (
    <Stack gap="xs">
      <Textarea
        label="Your comment"
        description="Required to reject: the uploader reads it"
        autosize
        minRows={2}
        value={comment}
        onChange={(event) => setComment(event.currentTarget.value)}
      />
      <ProblemAlert error={error} />
      <Group>
        <Button color="green" loading={busy === "approve"} disabled={busy !== null} onClick={() => void decide("approve")}>
          Approve
        </Button>
        <Button color="red" variant="light" loading={busy === "reject"} disabled={busy !== null} onClick={() => void decide("reject")}>
          Reject
        </Button>
      </Group>
    </Stack>
  );
}

function Withdraw({ document, review }: { document: DocumentRead; review: ReviewRead }) {
  const queryClient = useQueryClient();
  return (
    <Group>
      <ConfirmAction
        size="xs"
        label="Withdraw from review"
        title="Withdraw this review?"
        consequence="The review stops, its reviewers are no longer asked, and the document goes back to draft. Votes cast so far stay in the record."
        onConfirm={async () => {
          data(
            await api.POST("/v1/documents/{document_id}/reviews/{review_id}/withdraw", {
              params: { path: { document_id: document.id, review_id: review.id } },
            }),
          );
          notifications.show({ message: "The review is withdrawn." });
          await queryClient.invalidateQueries({ queryKey: keys.one(document.id) });
          await queryClient.invalidateQueries({ queryKey: keys.all });
        }}
      />
    </Group>
  );
}
