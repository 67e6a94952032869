import { createRoute, lazyRouteComponent } from "@tanstack/react-router";

import { appRoute } from "@/app/layouts";
import { parseAuditSearch } from "./auditSearch";

export const usersRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/settings/users",
  component: lazyRouteComponent(() => import("./UsersPage"), "UsersPage"),
});

export const ssoRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/settings/sso",
  component: lazyRouteComponent(() => import("./SsoPage"), "SsoPage"),
});

export const credentialsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/settings/credentials",
  component: lazyRouteComponent(() => import("./CredentialsPage"), "CredentialsPage"),
});

export const httpAllowListRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/settings/http-allow-list",
  component: lazyRouteComponent(() => import("./HttpAllowListPage"), "HttpAllowListPage"),
});

export const securityRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/settings/security",
  component: lazyRouteComponent(() => import("./SecurityPage"), "SecurityPage"),
});

export const auditLogRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/settings/audit-log",
  validateSearch: parseAuditSearch,
  component: lazyRouteComponent(() => import("./AuditLogPage"), "AuditLogPage"),
});

/** Pages of this area under the signed-in layout. */
export const appRoutes = [
  usersRoute,
  ssoRoute,
  credentialsRoute,
  httpAllowListRoute,
  securityRoute,
  auditLogRoute,
] as const;
