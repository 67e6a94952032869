import { createRoute, lazyRouteComponent } from "@tanstack/react-router";

import { parseEnvelopeListSearch } from "./search";
import { appRoute } from "@/app/layouts";

export const envelopesRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/envelopes",
  validateSearch: parseEnvelopeListSearch,
  component: lazyRouteComponent(() => import("./EnvelopesPage"), "EnvelopesPage"),
});

export const newEnvelopeRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/envelopes/new",
  component: lazyRouteComponent(() => import("./NewEnvelopePage"), "NewEnvelopePage"),
});

export const envelopeRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/envelopes/$envelopeId",
  component: lazyRouteComponent(() => import("./EnvelopePage"), "EnvelopePage"),
});

export const envelopeBuilderRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/envelopes/$envelopeId/edit",
  component: lazyRouteComponent(() => import("./EnvelopeBuilderPage"), "EnvelopeBuilderPage"),
});

export const templatesRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/envelope-templates",
  component: lazyRouteComponent(() => import("./TemplatesPage"), "TemplatesPage"),
});

export const templateRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/envelope-templates/$templateId",
  component: lazyRouteComponent(() => import("./TemplatePage"), "TemplatePage"),
});

export const esignatureSettingsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/settings/esignature",
  component: lazyRouteComponent(() => import("./EsignatureSettingsPage"), "EsignatureSettingsPage"),
});

/** Pages of this area under the signed-in layout. */
export const appRoutes = [
  envelopesRoute,
  newEnvelopeRoute,
  envelopeRoute,
  envelopeBuilderRoute,
  templatesRoute,
  templateRoute,
  esignatureSettingsRoute,
] as const;
