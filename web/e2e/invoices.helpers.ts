import { expect, type APIRequestContext, type Locator, type Page } from "@playwright/test";

import { unique } from "./stack";

export interface Billed {
  clientId: string;
  clientName: string;
  clientEmail: string;
}

/** A client with an email address, made through the API. */
export async function newClient(api: APIRequestContext, slug: string): Promise<Billed> {
  const clientName = unique("Client").replace(/-/g, " ");
  const clientEmail = `billing@${unique("client").toLowerCase()}.${slug}.example.com`;
  const answer = await api.post("/v1/clients", { data: { name: clientName, email: clientEmail, status: "active" } });
  expect(answer.status(), await answer.text()).toBe(201);
  const { id } = (await answer.json()) as { id: string };
  return { clientId: id, clientName, clientEmail };
}

/** A finalized invoice of one line, made through the API: its id and number. */
export async function issuedInvoice(
  api: APIRequestContext,
  clientId: string,
  unitPrice: number,
): Promise<{ id: string; number: string }> {
  const created = await api.post("/v1/invoices", {
    data: { client_id: clientId, lines: [{ description: "Bookkeeping", quantity: "1", unit_price: unitPrice }] },
  });
  expect(created.status(), await created.text()).toBe(201);
  const { id } = (await created.json()) as { id: string };
  const finalized = await api.post(`/v1/invoices/${id}/finalize`);
  expect(finalized.status(), await finalized.text()).toBe(200);
  const { number } = (await finalized.json()) as { number: string };
  return { id, number };
}

/** Chooses an option of a Mantine Select or MultiSelect, typing first into a searchable one. */
export async function choose(page: Page, input: Locator, option: string | RegExp, typed?: string) {
  await input.click();
  if (typed !== undefined) await input.fill(typed);
  await page.getByRole("option", { name: option }).click();
}

/** The input a label names inside a dialog or section (as stack.field does for the page). */
export function fieldIn(scope: Locator, label: string | RegExp) {
  return scope.locator("input, textarea, select").and(scope.getByLabel(label));
}

/**
 * Opens the invoice preview, waits until it shows the invoice as it is now with ``text`` in
 * it, and closes it again: axe cannot enter a frame sandboxed of scripts (its injection
 * waits there), so pages are checked with the preview closed.
 */
export async function previewShows(page: Page, text: string) {
  await page.getByRole("button", { name: "Show preview" }).click();
  await expect(page.locator('iframe[title="Invoice preview"]')).toHaveAttribute("data-fresh", "true");
  await expect(page.frameLocator('iframe[title="Invoice preview"]').getByText(text).first()).toBeVisible();
  await page.getByRole("button", { name: "Hide preview" }).click();
  await expect(page.locator('iframe[title="Invoice preview"]')).toHaveCount(0);
}
