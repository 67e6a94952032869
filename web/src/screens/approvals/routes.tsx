import { createRoute, lazyRouteComponent } from "@tanstack/react-router";

import type { ApprovalStatus } from "./approvalQueries";
import { appRoute } from "@/app/layouts";

export interface ApprovalsSearch {
  /** "all": every approval of the firm; otherwise what waits on the signed-in member. */
  view?: "all";
  status?: ApprovalStatus;
}

const STATUSES: readonly string[] = ["pending", "approved", "rejected", "expired", "canceled"];

export function parseApprovalsSearch(search: Record<string, unknown>): ApprovalsSearch {
  const parsed: ApprovalsSearch = {};
  if (search.view === "all") parsed.view = "all";
  if (typeof search.status === "string" && STATUSES.includes(search.status)) {
    parsed.status = search.status as ApprovalStatus;
  }
  return parsed;
}

export const approvalsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/approvals",
  validateSearch: parseApprovalsSearch,
  component: lazyRouteComponent(() => import("./ApprovalsPage"), "ApprovalsPage"),
});

/** The page the approvers' email links to; the layout signs in first, then comes back. */
export const approvalRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/approvals/$approvalId",
  component: lazyRouteComponent(() => import("./ApprovalPage"), "ApprovalPage"),
});

/** Pages of this area under the signed-in layout. */
export const appRoutes = [approvalsRoute, approvalRoute] as const;
