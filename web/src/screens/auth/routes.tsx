import { createRoute, lazyRouteComponent } from "@tanstack/react-router";

import { publicRoute } from "@/app/layouts";

export interface SignInSearch {
  next?: string;
}

export const signInRoute = createRoute({
  getParentRoute: () => publicRoute,
  path: "/sign-in",
  validateSearch: (search: Record<string, unknown>): SignInSearch =>
    typeof search.next === "string" ? { next: search.next } : {},
  component: lazyRouteComponent(() => import("./SignInPage"), "SignInPage"),
});

/** Pages anyone may open. */
export const publicRoutes = [signInRoute] as const;

/** Pages of the signed-in member's own account. */
export const appRoutes = [] as const;
