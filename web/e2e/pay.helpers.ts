import { expect, type APIRequestContext, type Page } from "@playwright/test";

import { harnessUrl, webUrl } from "./stack";

/** The loopback Stripe of tests/browser/stack.py: the key it accepts and its API's address. */
export interface FakeStripe {
  secret_key: string;
  api_base: string;
}

export async function fakeStripe(request: APIRequestContext): Promise<FakeStripe> {
  const answer = await request.get(`${harnessUrl}/stripe`);
  expect(answer.ok()).toBe(true);
  return (await answer.json()) as FakeStripe;
}

/**
 * Registers the firm's webhook URL with the fake Stripe, as a firm does in Stripe's
 * dashboard: its answer holds the endpoint's signing secret (whsec_…) to give firmflow.
 */
export async function registerWebhook(request: APIRequestContext, stripe: FakeStripe, url: string): Promise<string> {
  const answer = await request.post(`${stripe.api_base}/v1/webhook_endpoints`, {
    headers: { Authorization: `Bearer ${stripe.secret_key}` },
    form: { url, "enabled_events[0]": "checkout.session.completed" },
  });
  expect(answer.status(), await answer.text()).toBe(200);
  const { secret } = (await answer.json()) as { secret: string };
  return secret;
}

/**
 * Connects the firm behind ``api`` (apiAs) to the fake Stripe through the API: its secret
 * key, and a webhook endpoint whose signing secret the firm stores. For specs that test
 * something else than the Stripe screen.
 */
export async function connectStripe(api: APIRequestContext, request: APIRequestContext): Promise<void> {
  const stripe = await fakeStripe(request);
  const me = await api.get("/v1/me");
  const { firm } = (await me.json()) as { firm: { id: string } };
  const key = await api.put("/v1/billing/stripe/secret-key", { data: { secret_key: stripe.secret_key } });
  expect(key.status(), await key.text()).toBe(200);
  const secret = await registerWebhook(request, stripe, `${webUrl}/v1/webhooks/stripe/${firm.id}`);
  const added = await api.post("/v1/billing/stripe/webhook-secrets", { data: { secrets: [{ secret }] } });
  expect(added.status(), await added.text()).toBe(201);
}

/**
 * Pays an invoice as its client does, from the emailed pay link: the pay page's Pay button,
 * the fake Stripe Checkout's Pay button, and back on the pay page until it shows Paid. The
 * firm must be connected to the fake Stripe first (the Stripe screen, or connectStripe).
 */
export async function payThroughLink(page: Page, link: string): Promise<void> {
  await page.goto(link);
  await page.getByRole("button", { name: /^Pay / }).click();
  await page.waitForURL(/\/c\/pay\//);
  await page.getByRole("button", { name: /^Pay / }).click();
  await page.waitForURL(/\/pay\/.*checkout=paid/);
  await expect(page.getByTestId("invoice-status")).toHaveText("Paid", { timeout: 20_000 });
  await expect(page.getByRole("status").filter({ hasText: "Your payment was received" })).toBeVisible();
}
