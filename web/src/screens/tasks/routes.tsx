import { createRoute, lazyRouteComponent } from "@tanstack/react-router";

import { parseTaskSearch } from "./taskSearch";
import { appRoute } from "@/app/layouts";

export const tasksRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/tasks",
  validateSearch: parseTaskSearch,
  component: lazyRouteComponent(() => import("./TasksPage"), "TasksPage"),
});

/** Pages of this area under the signed-in layout. */
export const appRoutes = [tasksRoute] as const;
