import { createRoute, lazyRouteComponent } from "@tanstack/react-router";

import { parseClientSearch, parseClientsSearch } from "./search";
import { appRoute } from "@/app/layouts";

export const clientsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/clients",
  validateSearch: parseClientsSearch,
  component: lazyRouteComponent(() => import("./ClientsPage"), "ClientsPage"),
});

export const newClientRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/clients/new",
  component: lazyRouteComponent(() => import("./NewClientPage"), "NewClientPage"),
});

export const clientRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/clients/$clientId",
  validateSearch: parseClientSearch,
  component: lazyRouteComponent(() => import("./ClientPage"), "ClientPage"),
});

export const importsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/imports",
  component: lazyRouteComponent(() => import("./ImportsPage"), "ImportsPage"),
});

export const importRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/imports/$importId",
  component: lazyRouteComponent(() => import("./ImportPage"), "ImportPage"),
});

/** Pages of this area under the signed-in layout. */
export const appRoutes = [clientsRoute, newClientRoute, clientRoute, importsRoute, importRoute] as const;
