import { createRoute, lazyRouteComponent } from "@tanstack/react-router";

import { appRoute } from "@/app/layouts";

export const stripeRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/billing/stripe",
  component: lazyRouteComponent(() => import("./StripeSettingsPage"), "StripeSettingsPage"),
});

/** Pages of this area under the signed-in layout. */
export const appRoutes = [stripeRoute] as const;
