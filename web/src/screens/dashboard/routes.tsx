import { createRoute, lazyRouteComponent } from "@tanstack/react-router";

import { prefetchDashboard } from "./dashboardQueries";
import { appRoute } from "@/app/layouts";

export const dashboardRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/",
  loader: ({ context }) => prefetchDashboard(context.queryClient),
  component: lazyRouteComponent(() => import("./DashboardPage"), "DashboardPage"),
});

export const appRoutes = [dashboardRoute] as const;
