import { readFile } from "node:fs/promises";

import { expect, test, type APIRequestContext } from "@playwright/test";

import { apiAs, expectAccessible, newFirm, signIn } from "./stack";

function daysFromToday(days: number): string {
  const date = new Date();
  date.setUTCDate(date.getUTCDate() + days);
  return date.toISOString().slice(0, 10);
}

async function issuedInvoice(
  api: APIRequestContext,
  clientName: string,
  unitPrice: number,
  dates: { issue_date: string; due_date: string },
): Promise<string> {
  const client = await api.post("/v1/clients", { data: { name: clientName } });
  expect(client.status(), await client.text()).toBe(201);
  const { id: clientId } = (await client.json()) as { id: string };
  const draft = await api.post("/v1/invoices", {
    data: { client_id: clientId, ...dates, lines: [{ description: "Advisory", quantity: "1", unit_price: unitPrice }] },
  });
  expect(draft.status(), await draft.text()).toBe(201);
  const { id } = (await draft.json()) as { id: string };
  const finalized = await api.post(`/v1/invoices/${id}/finalize`);
  expect(finalized.status(), await finalized.text()).toBe(200);
  return id;
}

test("reports show the aging of an overdue invoice and the revenue of a paid one, as tables, charts and CSV", async ({
  page,
  request,
}) => {
  const firm = await newFirm(request, "reports");
  const api = await apiAs(firm);
  // Overdue by 40 days: the 31–60 bucket.
  await issuedInvoice(api, "Overdue Industries", 120_000, { issue_date: daysFromToday(-50), due_date: daysFromToday(-40) });
  const paid = await issuedInvoice(api, "Prompt Payers Co", 45_050, { issue_date: daysFromToday(0), due_date: daysFromToday(14) });
  const payment = await api.post(`/v1/invoices/${paid}/payments`, {
    data: { amount: 45_050, currency: "USD", method: "bank_transfer" },
  });
  expect(payment.status(), await payment.text()).toBe(201);
  await api.dispose();

  await signIn(page, firm.email, firm.password);
  await page.goto("/reports");
  await expect(page.getByRole("heading", { level: 1, name: "Reports" })).toBeVisible();

  const aging = page.getByRole("table", { name: "Receivables aging by client" });
  const overdue = aging.getByRole("row").filter({ hasText: "Overdue Industries" });
  await expect(overdue.getByRole("cell")).toHaveText(["Overdue Industries", "$0.00", "$0.00", "$1,200.00", "$0.00", "$0.00", "$1,200.00"]);
  await expect(aging.getByRole("row").filter({ hasText: "Prompt Payers" })).toHaveCount(0);
  await expect(page.getByRole("figure", { name: /amounts owed by days past due/ }).locator("svg").first()).toBeVisible();

  const revenue = page.getByRole("table", { name: "Revenue by month" });
  const thisMonth = daysFromToday(0).slice(0, 7);
  await expect(revenue.getByRole("row").filter({ hasText: thisMonth })).toContainText("$450.50");
  await expect(revenue.getByRole("row").filter({ hasText: daysFromToday(-50).slice(0, 7) })).toContainText("$1,200.00");
  await expect(page.getByRole("figure", { name: /net invoiced and net received/ }).locator("svg").first()).toBeVisible();
  await expectAccessible(page);

  const agingDownload = page.waitForEvent("download");
  await page.getByRole("button", { name: "Download aging CSV" }).click();
  const agingFile = await agingDownload;
  expect(agingFile.suggestedFilename()).toBe(`receivables-aging-${daysFromToday(0)}.csv`);
  const agingCsv = await readFile(await agingFile.path(), "utf8");
  expect(agingCsv).toContain("Client,Currency,Current,1–30 days,31–60 days,61–90 days,Over 90 days,Total");
  expect(agingCsv).toContain("Overdue Industries,USD,0.00,0.00,1200.00,0.00,0.00,1200.00");

  const revenueDownload = page.waitForEvent("download");
  await page.getByRole("button", { name: "Download revenue CSV" }).click();
  const revenueCsv = await readFile(await (await revenueDownload).path(), "utf8");
  expect(revenueCsv).toContain("Month,Currency,Invoiced,Credited,Net invoiced,Received,Refunded,Net received");
  expect(revenueCsv).toContain(`${thisMonth},USD,450.50,0.00,450.50,450.50,0.00,450.50`);
});
