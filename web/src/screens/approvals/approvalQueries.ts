import { infiniteQueryOptions, queryOptions } from "@tanstack/react-query";

import { api, data } from "@/api/client";
import type { components } from "@/api/schema";

export type Approval = components["schemas"]["ApprovalRead"];
export type ApprovalDetail = components["schemas"]["ApprovalDetail"];
export type ApprovalStatus = components["schemas"]["ApprovalStatus"];

export const APPROVALS_PAGE = 25;

export interface ApprovalListQuery {
  mine?: boolean;
  status?: ApprovalStatus;
}

/** What waits for the signed-in member's decision, newest first. */
export function waitingOnMeQuery(limit: number) {
  return queryOptions({
    queryKey: ["approvals", "list", { mine: true, status: "pending" }, limit],
    queryFn: async () =>
      data(await api.GET("/v1/approvals", { params: { query: { mine: true, status: "pending", limit } } })),
  });
}

export function approvalsQuery(query: ApprovalListQuery) {
  return infiniteQueryOptions({
    queryKey: ["approvals", "list", query, APPROVALS_PAGE],
    queryFn: async ({ pageParam }) =>
      data(
        await api.GET("/v1/approvals", {
          params: { query: { ...query, limit: APPROVALS_PAGE, cursor: pageParam } },
        }),
      ),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last: { next_cursor?: string | null }) => last.next_cursor ?? undefined,
  });
}

export function approvalQuery(approvalId: string) {
  return queryOptions({
    queryKey: ["approvals", "detail", approvalId],
    queryFn: async () =>
      data(await api.GET("/v1/approvals/{approval_id}", { params: { path: { approval_id: approvalId } } })),
  });
}

export const STATUS_LABELS: Record<ApprovalStatus, string> = {
  pending: "Waiting",
  approved: "Approved",
  rejected: "Rejected",
  expired: "Expired",
  canceled: "Canceled",
};

export const STATUS_COLORS: Record<ApprovalStatus, string> = {
  pending: "blue.9",
  approved: "teal.9",
  rejected: "red.9",
  expired: "gray.7",
  canceled: "gray.7",
};
