import { expect, test } from "@playwright/test";

import { choose, fieldIn, issuedInvoice, newClient, previewShows } from "./invoices.helpers";
import { connectStripe, payThroughLink } from "./pay.helpers";
import { apiAs, emailsTo, expectAccessible, field, linkIn, newFirm, signIn } from "./stack";

test("an invoice is drafted with live totals, sent by email, part paid and credited, and paid from the pay link", async ({ page, request }) => {
  // The whole life of an invoice, draft to paid through Stripe Checkout: twice the usual time.
  test.setTimeout(120_000);
  const firm = await newFirm(request, "inv");
  const api = await apiAs(firm);
  const client = await newClient(api, firm.slug);
  const rate = await api.post("/v1/tax-rates", { data: { name: "VAT", percent: "20" } });
  expect(rate.status(), await rate.text()).toBe(201);
  await connectStripe(api, request);
  await api.dispose();

  await signIn(page, firm.email, firm.password);
  await page.goto("/invoices");
  await expect(page.getByRole("heading", { level: 1, name: "Invoices" })).toBeVisible();
  await expect(page.getByText("No invoices yet")).toBeVisible();
  await expectAccessible(page);

  await page.getByRole("link", { name: "New invoice" }).first().click();
  await expect(page.getByRole("heading", { level: 1, name: "New invoice" })).toBeVisible();
  await choose(page, field(page, "Client"), client.clientName, client.clientName.slice(0, 12));
  await field(page, "Line 1 description").fill("Annual accounts");
  await field(page, "Line 1 quantity").fill("-2");
  await field(page, "Line 1 unit price").fill("150");
  await expectAccessible(page);

  // The API refuses the line; its error shows on that line's quantity.
  await page.getByRole("button", { name: "Create draft" }).click();
  const line = page.getByTestId("line-1");
  await expect(line.getByText("Enter a number of at least 0.")).toBeVisible();
  await expect(page).toHaveURL(/\/invoices\/new/);

  await field(page, "Line 1 quantity").fill("2");
  await choose(page, field(page, "Line 1 tax rates"), "VAT (20%)");
  await page.keyboard.press("Escape");
  await page.getByRole("button", { name: "Create draft" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Draft invoice" })).toBeVisible();
  await expect(page.getByTestId("total-subtotal")).toContainText("$300.00");
  await expect(page.getByTestId("total-total")).toContainText("$360.00");

  // Each edit is saved once typing pauses; the totals shown are the API's answer.
  await field(page, "Line 1 quantity").fill("3");
  await expect(page.getByTestId("total-total")).toContainText("$540.00");
  await expect(page.getByTestId("total-tax")).toContainText("$90.00");
  await expect(page.getByTestId("save-status")).toHaveText("All changes saved");
  await field(page, "Line 1 quantity").fill("");
  await expect(line.getByText(/decimal|number/i)).toBeVisible();
  await expect(page.getByTestId("save-status")).toContainText("Not saved");
  await field(page, "Line 1 quantity").fill("3");
  await expect(page.getByTestId("save-status")).toHaveText("All changes saved");
  await previewShows(page, "540.00 USD");
  await expectAccessible(page);

  await page.getByRole("button", { name: "Send to client" }).click();
  const dialog = page.getByRole("dialog", { name: "Send this invoice?" });
  await expect(dialog).toContainText(client.clientEmail);
  await dialog.getByRole("button", { name: "Send to client" }).click();
  const heading = page.getByRole("heading", { level: 1, name: /^Invoice / });
  await expect(heading).toBeVisible();
  const number = ((await heading.textContent()) ?? "").replace(/^Invoice /, "");
  await expect(page.getByTestId("invoice-status")).toHaveText("Open · sent");
  await previewShows(page, number);

  const invoiceUrl = page.url();
  const [email] = await emailsTo(request, client.clientEmail);
  expect(email?.subject).toContain(number);
  const payLink = linkIn(email?.text ?? "", `/pay/${new URL(invoiceUrl).pathname.split("/").pop()}`);
  await expectAccessible(page);

  await page.getByRole("button", { name: "Pause reminders" }).click();
  await page.getByRole("dialog", { name: "Pause this invoice's reminders?" }).getByRole("button", { name: "Pause reminders" }).click();
  await expect(page.getByText("Paused", { exact: true })).toBeVisible();
  await page.getByRole("button", { name: "Resume reminders" }).click();
  await expect(page.getByRole("button", { name: "Pause reminders" })).toBeVisible();

  // Part paid by transfer, part credited, the rest paid: each step's balance is the API's.
  await page.getByRole("button", { name: "Record a payment" }).click();
  const payment = page.getByRole("dialog", { name: "Record a payment" });
  await expect(fieldIn(payment, "Amount (USD)")).toHaveValue("540.00");
  await fieldIn(payment, "Amount (USD)").fill("40");
  await fieldIn(payment, "Reference").fill("Wire 42");
  await payment.getByRole("button", { name: "Record payment" }).click();
  await expect(page.getByTestId("invoice-status")).toHaveText("Partially paid");
  await expect(page.getByTestId("total-balance")).toContainText("$500.00");
  await expect(page.getByRole("table", { name: "Payments and refunds" })).toContainText("Wire 42");

  await page.getByRole("button", { name: "Issue a credit note" }).click();
  const credit = page.getByRole("dialog", { name: `Credit invoice ${number}?` });
  await fieldIn(credit, "Amount (USD)").fill("20");
  await fieldIn(credit, /Notes/).fill("Goodwill");
  await credit.getByRole("button", { name: "Issue a credit note" }).click();
  await expect(page.getByTestId("total-balance")).toContainText("$480.00");
  await expect(page.getByRole("table", { name: "Credit notes of this invoice" })).toContainText("Goodwill");
  // By now the reminders timeline has read the invoice email's delivery again.
  await expect(page.getByText(/Invoice email: sent/)).toBeVisible();

  // The client pays the rest from the emailed link (the pay page, then Stripe's Checkout).
  await payThroughLink(page, payLink);
  await page.goto(invoiceUrl);
  await expect(page.getByTestId("invoice-status")).toHaveText("Paid");
  await expect(page.getByTestId("total-balance")).toContainText("$0.00");
  await expect(page.getByRole("table", { name: "Payments and refunds" })).toContainText("Card");
});

test("a wrong payment amount is refused on its field, and an open invoice is voided", async ({ page, request }) => {
  const firm = await newFirm(request, "invvoid");
  const api = await apiAs(firm);
  const client = await newClient(api, firm.slug);
  const invoice = await issuedInvoice(api, client.clientId, 9900);
  await api.dispose();

  await signIn(page, firm.email, firm.password);
  await page.goto(`/invoices/${invoice.id}`);
  await expect(page.getByRole("heading", { level: 1, name: `Invoice ${invoice.number}` })).toBeVisible();

  await page.getByRole("button", { name: "Record a payment" }).click();
  const payment = page.getByRole("dialog", { name: "Record a payment" });
  await fieldIn(payment, "Amount (USD)").fill("0");
  await payment.getByRole("button", { name: "Record payment" }).click();
  await expect(payment.getByText(/greater than 0/i)).toBeVisible();
  await payment.getByRole("button", { name: "Cancel" }).click();

  await page.getByRole("button", { name: "Void" }).click();
  const dialog = page.getByRole("dialog", { name: `Void invoice ${invoice.number}?` });
  await expect(dialog).toContainText("cannot be undone");
  await fieldIn(dialog, "Reason (optional)").fill("Billed twice");
  await dialog.getByRole("button", { name: "Void" }).click();
  await expect(page.getByTestId("invoice-status")).toHaveText("Void");
  await expect(page.getByRole("button", { name: "Void" })).toHaveCount(0);

  await page.goto("/invoices?status=void");
  await expect(page.getByRole("link", { name: invoice.number })).toBeVisible();
  await page.goto("/invoices?status=paid");
  await expect(page.getByText("No invoice matches these filters")).toBeVisible();
  await expectAccessible(page);
});
