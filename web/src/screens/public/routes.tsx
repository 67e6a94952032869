import { createRoute, lazyRouteComponent } from "@tanstack/react-router";

import { publicRoute } from "@/app/layouts";

export interface PaySearch {
  /** The signed token of the emailed link. */
  t?: string;
  /** Set by Stripe Checkout on its way back. */
  checkout?: "paid" | "cancelled";
}

export function parsePaySearch(search: Record<string, unknown>): PaySearch {
  const parsed: PaySearch = {};
  if (typeof search.t === "string" && search.t) parsed.t = search.t;
  if (search.checkout === "paid" || search.checkout === "cancelled") parsed.checkout = search.checkout;
  return parsed;
}

export const payRoute = createRoute({
  getParentRoute: () => publicRoute,
  path: "/pay/$invoiceId",
  validateSearch: parsePaySearch,
  component: lazyRouteComponent(() => import("./PayPage"), "PayPage"),
});

/** Pages anyone may open (the client's invoice). */
export const publicRoutes = [payRoute] as const;
