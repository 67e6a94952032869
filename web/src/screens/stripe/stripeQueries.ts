import { queryOptions } from "@tanstack/react-query";

import { api, data } from "@/api/client";

export const secretKeyQuery = queryOptions({
  queryKey: ["stripe", "secret-key"],
  queryFn: async () => data(await api.GET("/v1/billing/stripe/secret-key")),
});

export const webhookSecretsQuery = queryOptions({
  queryKey: ["stripe", "webhook-secrets"],
  queryFn: async () => data(await api.GET("/v1/billing/stripe/webhook-secrets")),
});

/** Where Stripe must send this firm's events: the endpoint to add in Stripe's dashboard. */
export function webhookUrl(origin: string, firmId: string): string {
  return `${origin.replace(/\/$/, "")}/v1/webhooks/stripe/${firmId}`;
}
