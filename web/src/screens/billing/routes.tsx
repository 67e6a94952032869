import { createRoute, lazyRouteComponent } from "@tanstack/react-router";

import { appRoute } from "@/app/layouts";

export const recurringInvoicesRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/recurring-invoices",
  component: lazyRouteComponent(() => import("./RecurringInvoicesPage"), "RecurringInvoicesPage"),
});

export const newRecurringInvoiceRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/recurring-invoices/new",
  component: lazyRouteComponent(() => import("./RecurringInvoicePage"), "NewRecurringInvoicePage"),
});

export const recurringInvoiceRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/recurring-invoices/$id",
  component: lazyRouteComponent(() => import("./RecurringInvoicePage"), "RecurringInvoicePage"),
});

export const taxRatesRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/billing/tax-rates",
  component: lazyRouteComponent(() => import("./TaxRatesPage"), "TaxRatesPage"),
});

export const billingSettingsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/billing/settings",
  component: lazyRouteComponent(() => import("./BillingSettingsPage"), "BillingSettingsPage"),
});

export const dunningPolicyRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/billing/dunning-policy",
  component: lazyRouteComponent(() => import("./DunningPolicyPage"), "DunningPolicyPage"),
});

export interface ReportsSearch {
  as_of?: string;
  from?: string;
  to?: string;
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

export const reportsRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/reports",
  validateSearch: (search: Record<string, unknown>): ReportsSearch => {
    const pick = (value: unknown) => (typeof value === "string" && ISO_DATE.test(value) ? value : undefined);
    return Object.fromEntries(
      Object.entries({ as_of: pick(search.as_of), from: pick(search.from), to: pick(search.to) }).filter(
        ([, value]) => value !== undefined,
      ),
    );
  },
  component: lazyRouteComponent(() => import("./ReportsPage"), "ReportsPage"),
});

/** Pages of this area under the signed-in layout. */
export const appRoutes = [
  recurringInvoicesRoute,
  newRecurringInvoiceRoute,
  recurringInvoiceRoute,
  taxRatesRoute,
  billingSettingsRoute,
  dunningPolicyRoute,
  reportsRoute,
] as const;
