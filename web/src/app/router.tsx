import { createRouter } from "@tanstack/react-router";

import { appRoute, publicRoute, rootRoute } from "./layouts";
import { queryClient } from "./queryClient";
import * as approvals from "@/screens/approvals/routes";
import * as auth from "@/screens/auth/routes";
import * as billing from "@/screens/billing/routes";
import * as clients from "@/screens/clients/routes";
import * as dashboard from "@/screens/dashboard/routes";
import * as documents from "@/screens/documents/routes";
import * as esignature from "@/screens/esignature/routes";
import * as invoices from "@/screens/invoices/routes";
import * as publicPages from "@/screens/public/routes";
import * as settings from "@/screens/settings/routes";
import * as signing from "@/screens/signing/routes";
import * as stripe from "@/screens/stripe/routes";
import * as tasks from "@/screens/tasks/routes";

// Each area lists its own routes in its routes.tsx; this file only puts them together.
const routeTree = rootRoute.addChildren([
  publicRoute.addChildren([...auth.publicRoutes, ...publicPages.publicRoutes, ...signing.publicRoutes]),
  appRoute.addChildren([
    ...dashboard.appRoutes,
    ...auth.appRoutes,
    ...clients.appRoutes,
    ...documents.appRoutes,
    ...esignature.appRoutes,
    ...tasks.appRoutes,
    ...approvals.appRoutes,
    ...invoices.appRoutes,
    ...billing.appRoutes,
    ...stripe.appRoutes,
    ...settings.appRoutes,
  ]),
]);

export const router = createRouter({
  routeTree,
  context: { queryClient },
  defaultPreload: "intent",
  scrollRestoration: true,
});

declare module "@tanstack/react-router" {
  interface Register {
    router: typeof router;
  }
}
