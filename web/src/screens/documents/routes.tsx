import { createRoute, lazyRouteComponent } from "@tanstack/react-router";

import { parseDocumentSearch, parseLibrarySearch } from "./search";
import { appRoute } from "@/app/layouts";

export const documentsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/documents",
  validateSearch: parseLibrarySearch,
  component: lazyRouteComponent(() => import("./DocumentsPage"), "DocumentsPage"),
});

export const documentSearchRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/documents/search",
  validateSearch: parseDocumentSearch,
  component: lazyRouteComponent(() => import("./SearchPage"), "SearchPage"),
});

export const documentRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/documents/$documentId",
  component: lazyRouteComponent(() => import("./DocumentPage"), "DocumentPage"),
});

export const documentSettingsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/settings/documents",
  component: lazyRouteComponent(() => import("./DocumentSettingsPage"), "DocumentSettingsPage"),
});

/** Pages of this area under the signed-in layout. */
export const appRoutes = [documentsRoute, documentSearchRoute, documentRoute, documentSettingsRoute] as const;
