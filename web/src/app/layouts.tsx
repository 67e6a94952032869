import { createRootRouteWithContext, createRoute, Outlet, redirect } from "@tanstack/react-router";
import type { QueryClient } from "@tanstack/react-query";

import { AppLayout } from "./AppLayout";
import { PublicLayout } from "./PublicLayout";
import { meQuery } from "./session";
import { NotFoundPage } from "@/components/NotFoundPage";
import { RouteError } from "@/components/RouteError";

export interface RouterContext {
  queryClient: QueryClient;
}

export const rootRoute = createRootRouteWithContext<RouterContext>()({
  component: Outlet,
  notFoundComponent: NotFoundPage,
  errorComponent: RouteError,
});

/** Pages anyone may open: sign-in, the emailed links, the client's invoice. */
export const publicRoute = createRoute({
  getParentRoute: () => rootRoute,
  id: "public",
  component: PublicLayout,
});

/** Pages for a signed-in member of a firm; anyone else is sent to sign in, then back. */
export const appRoute = createRoute({
  getParentRoute: () => rootRoute,
  id: "app",
  component: AppLayout,
  beforeLoad: async ({ context, location }) => {
    const me = await context.queryClient.ensureQueryData(meQuery);
    if (!me) {
      throw redirect({ to: "/sign-in", search: { next: location.href } });
    }
    return { me };
  },
});
