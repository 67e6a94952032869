import { expect, test } from "@playwright/test";

import { connectStripe, fakeStripe, payThroughLink, registerWebhook } from "./pay.helpers";
import { apiAs, emailsTo, expectAccessible, field, linkIn, newFirm, signIn, unique } from "./stack";

test("the Stripe screen takes the secret key and the webhook's signing secret, write-only", async ({
  page,
  request,
}) => {
  const firm = await newFirm(request, "stripe");
  const stripe = await fakeStripe(request);
  await signIn(page, firm.email, firm.password);
  await page.goto("/billing/stripe");
  await expect(page.getByRole("heading", { level: 1, name: "Stripe" })).toBeVisible();
  await expect(page.getByTestId("secret-key-status")).toContainText("Not connected");

  // A publishable key is refused on its field; the secret key is saved and shown as a hint.
  await field(page, "Secret key").fill("pk_test_publishable");
  await page.getByRole("button", { name: "Save key" }).click();
  await expect(page.locator(".mantine-InputWrapper-error")).toContainText("Stripe secret or restricted key");
  await field(page, "Secret key").fill(stripe.secret_key);
  await page.getByRole("button", { name: "Save key" }).click();
  await expect(page.getByTestId("secret-key-status")).toContainText(
    `Connected: the key ending in …${stripe.secret_key.slice(-4)}`,
  );
  await expect(field(page, "New secret key")).toHaveValue("");

  // The webhook URL the screen shows is registered at "Stripe"; its signing secret goes back in.
  const webhookUrl = (await page.getByTestId("webhook-url").innerText()).trim();
  const signingSecret = await registerWebhook(request, stripe, webhookUrl);
  await field(page, "Signing secret").fill(signingSecret);
  await page.getByRole("button", { name: "Add signing secret" }).click();
  await expect(page.getByRole("table", { name: "Webhook signing secrets" })).toContainText(signingSecret.slice(-4));
  await expect(field(page, "Signing secret")).toHaveValue("");
  await expectAccessible(page);
});

test("a client pays the emailed invoice through its pay link; a tampered link opens nothing", async ({
  page,
  request,
}) => {
  // Stripe connected, an invoice made, finalized and sent, all through the API.
  const firm = await newFirm(request, "pay");
  const api = await apiAs(firm);
  await connectStripe(api, request);
  const clientEmail = `ap@${unique("payer").toLowerCase()}.example.com`;
  const client = await api.post("/v1/clients", { data: { name: "Payer Ltd", email: clientEmail, status: "active" } });
  expect(client.status(), await client.text()).toBe(201);
  const { id: clientId } = (await client.json()) as { id: string };
  const created = await api.post("/v1/invoices", {
    data: { client_id: clientId, lines: [{ description: "Annual accounts", quantity: "2", unit_price: 12_500 }] },
  });
  expect(created.status(), await created.text()).toBe(201);
  const { id: invoiceId } = (await created.json()) as { id: string };
  const sent = await api.post(`/v1/invoices/${invoiceId}/send`);
  expect(sent.status(), await sent.text()).toBe(200);
  const { number } = (await sent.json()) as { number: string };
  await api.dispose();

  // The invoice email links the client's page; the client has no account.
  const emails = await emailsTo(request, clientEmail);
  const link = linkIn(emails.map((email) => email.text).join("\n"), `/pay/${invoiceId}`);
  expect(new URL(link).searchParams.get("t")).toBeTruthy();
  await page.goto(link);
  await expect(page.getByRole("heading", { level: 1, name: `Invoice ${number}` })).toBeVisible();
  await expect(page.getByTestId("amount-due")).toHaveText("$250.00");
  await expect(page.getByTestId("invoice-status")).toHaveText("Open");
  await expect(page.frameLocator(`iframe[title="Invoice ${number}"]`).getByText("Annual accounts")).toBeVisible();
  await expectAccessible(page);

  await payThroughLink(page, link);
  await expect(page.getByRole("button", { name: /^Pay / })).toHaveCount(0);
  await expectAccessible(page);

  // A tampered token opens nothing: the page says to ask for a new link.
  const tampered = new URL(link);
  const token = tampered.searchParams.get("t") ?? "";
  tampered.searchParams.set("t", token.slice(0, -1) + (token.endsWith("A") ? "B" : "A"));
  await page.goto(tampered.toString());
  await expect(page.getByRole("heading", { level: 1, name: "This link does not work" })).toBeVisible();
  await expect(page.getByText("Ask the firm that sent you the invoice for a new link.")).toBeVisible();
  await expectAccessible(page);
});
