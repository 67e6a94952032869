import { createRoute, lazyRouteComponent } from "@tanstack/react-router";

import { appRoute } from "@/app/layouts";

export const dashboardRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/",
  component: lazyRouteComponent(() => import("./DashboardPage"), "DashboardPage"),
});

export const appRoutes = [dashboardRoute] as const;
