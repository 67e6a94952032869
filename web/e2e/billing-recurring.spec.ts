import { expect, test } from "@playwright/test";

import { apiAs, expectAccessible, field, newFirm, signIn } from "./stack";

test("a monthly recurring invoice built with the RRULE builder lists its next 12 dates from the API, then pauses", async ({
  page,
  request,
}) => {
  const firm = await newFirm(request, "recurring");
  const api = await apiAs(firm);
  const client = await api.post("/v1/clients", { data: { name: "Northwind Retainer Ltd" } });
  expect(client.status(), await client.text()).toBe(201);
  await api.dispose();

  await signIn(page, firm.email, firm.password);
  await page.goto("/recurring-invoices");
  await expect(page.getByText("No recurring invoices yet")).toBeVisible();
  await expectAccessible(page);

  await page.getByRole("link", { name: "New recurring invoice" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "New recurring invoice" })).toBeVisible();
  await field(page, /^Client/).fill("Northwind");
  await page.getByRole("option", { name: "Northwind Retainer Ltd" }).click();
  await field(page, /^Line 1 description/).fill("Monthly bookkeeping");
  await field(page, /^Unit price/).fill("450");

  await field(page, "On these days of the month").click({ force: true });
  await page.getByRole("option", { name: "1st", exact: true }).click();
  await page.keyboard.press("Escape");
  await expect(page.getByTestId("rrule-text")).toHaveText("RRULE:FREQ=MONTHLY;BYMONTHDAY=1");
  await expectAccessible(page);

  // An end before the start: the API says why, on the end date.
  await page.getByRole("radio", { name: "On a date" }).check();
  await field(page, "Last possible date").fill("2020-01-31");
  await expect(page.getByTestId("rrule-text")).toHaveText("RRULE:FREQ=MONTHLY;BYMONTHDAY=1;UNTIL=20200131");
  await page.getByRole("button", { name: "Create recurring invoice" }).click();
  await expect(field(page, "Last possible date")).toHaveAttribute("aria-invalid", "true");
  await expect(page.getByText("ends_on is before starts_at_local", { exact: true })).toBeVisible();

  await page.getByRole("radio", { name: "Never" }).check();
  await page.getByRole("button", { name: "Create recurring invoice" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Recurring invoice" })).toBeVisible();
  await expect(page).toHaveURL(/\/recurring-invoices\/[0-9a-f-]{36}$/);

  const dates = page.getByRole("table", { name: "The next invoice dates" }).getByRole("row");
  await expect(dates).toHaveCount(13);
  for (const row of (await dates.all()).slice(1)) {
    await expect(row.getByRole("cell").nth(1)).toHaveText(/^1 [A-Z][a-z]+ \d{4}$/);
  }
  await expect(page.getByText("Every month on the 1st, at 09:00 UTC.")).toBeVisible();
  await expectAccessible(page);

  await page.getByRole("button", { name: "Pause" }).click();
  const dialog = page.getByRole("dialog", { name: "Pause this recurring invoice?" });
  await expect(dialog).toContainText("No invoice is made while it is paused");
  await dialog.getByRole("button", { name: "Pause" }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByRole("button", { name: "Resume" })).toBeVisible();

  await page.getByRole("link", { name: "All recurring invoices" }).click();
  const row = page.getByRole("table", { name: "Recurring invoices" }).getByRole("row").filter({ hasText: "Northwind Retainer Ltd" });
  await expect(row).toContainText("Every month on the 1st");
  await expect(row).toContainText("Paused");
});
