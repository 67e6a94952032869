import { createRoute, lazyRouteComponent } from "@tanstack/react-router";

import { appRoute } from "@/app/layouts";
import { STATUS_LABELS, type InvoiceStatus } from "./queries";

export interface InvoicesSearch {
  status?: InvoiceStatus;
  client?: string;
  kind?: "credit_note";
}

function isStatus(value: unknown): value is InvoiceStatus {
  return typeof value === "string" && value in STATUS_LABELS;
}

export const invoicesRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/invoices",
  validateSearch: (search: Record<string, unknown>): InvoicesSearch => ({
    ...(isStatus(search.status) ? { status: search.status } : {}),
    ...(typeof search.client === "string" && search.client ? { client: search.client } : {}),
    ...(search.kind === "credit_note" ? { kind: "credit_note" as const } : {}),
  }),
  component: lazyRouteComponent(() => import("./InvoicesPage"), "InvoicesPage"),
});

export const newInvoiceRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/invoices/new",
  validateSearch: (search: Record<string, unknown>): { client?: string } =>
    typeof search.client === "string" && search.client ? { client: search.client } : {},
  component: lazyRouteComponent(() => import("./NewInvoicePage"), "NewInvoicePage"),
});

export const invoiceRoute = createRoute({
  getParentRoute: () => appRoute,
  path: "/invoices/$invoiceId",
  component: lazyRouteComponent(() => import("./InvoicePage"), "InvoicePage"),
});

/** Pages of this area under the signed-in layout. */
export const appRoutes = [invoicesRoute, newInvoiceRoute, invoiceRoute] as const;
