import { queryOptions } from "@tanstack/react-query";

import { api, data } from "@/api/client";
import type { components } from "@/api/schema";

export type Invoice = components["schemas"]["InvoiceRead"];
export type InvoiceSummary = components["schemas"]["InvoiceSummary"];
export type InvoiceStatus = components["schemas"]["InvoiceStatus"];
export type Payment = components["schemas"]["PaymentRead"];
export type TaxRate = components["schemas"]["TaxRateRead"];
export type Client = components["schemas"]["ClientRead"];

export const invoiceKey = (invoiceId: string) => ["invoices", "one", invoiceId] as const;

export const invoiceQuery = (invoiceId: string) =>
  queryOptions({
    queryKey: invoiceKey(invoiceId),
    queryFn: async () =>
      data(await api.GET("/v1/invoices/{invoice_id}", { params: { path: { invoice_id: invoiceId } } })),
  });

export const clientQuery = (clientId: string) =>
  queryOptions({
    queryKey: ["clients", "one", clientId],
    queryFn: async () =>
      data(await api.GET("/v1/clients/{client_id}", { params: { path: { client_id: clientId } } })),
    staleTime: 60_000,
  });

/** The firm's active tax rates: the most a line may choose from (the API pages by 100). */
export const taxRatesQuery = queryOptions({
  queryKey: ["tax-rates", "active"],
  queryFn: async () =>
    data(await api.GET("/v1/tax-rates", { params: { query: { limit: 100 } } })).items,
  staleTime: 60_000,
});

export const STATUS_LABELS: Record<InvoiceStatus, string> = {
  draft: "Draft",
  open: "Open",
  partially_paid: "Partially paid",
  paid: "Paid",
  void: "Void",
  uncollectible: "Written off",
};

export const STATUS_COLORS: Record<InvoiceStatus, string> = {
  draft: "gray",
  open: "blue",
  partially_paid: "yellow",
  paid: "green",
  void: "dark",
  uncollectible: "red",
};
