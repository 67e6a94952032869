import { expect, test } from "@playwright/test";

import { apiAs, expectAccessible, field, newFirm, signIn } from "./stack";

test("a tax rate with a bad percent shows the API's error on the field; fixed, it is added, edited and archived", async ({
  page,
  request,
}) => {
  const firm = await newFirm(request, "taxrates");
  await signIn(page, firm.email, firm.password);
  await page.goto("/billing/tax-rates");
  await expect(page.getByRole("heading", { level: 1, name: "Tax rates" })).toBeVisible();
  await expect(page.getByText("No tax rates yet")).toBeVisible();
  await expectAccessible(page);

  await field(page, "Name").fill("VAT standard");
  await field(page, "Percent").fill("150");
  await page.getByRole("button", { name: "Add tax rate" }).click();
  await expect(field(page, "Percent")).toHaveAttribute("aria-invalid", "true");
  await expect(page.getByText("Enter a number of at most 100.")).toBeVisible();

  await field(page, "Percent").fill("20");
  await page.getByRole("button", { name: "Add tax rate" }).click();
  const table = page.getByRole("table", { name: "Tax rates" });
  await expect(table.getByRole("row").filter({ hasText: "VAT standard" })).toContainText("20%");
  await expect(field(page, "Name")).toHaveValue("");

  await page.getByRole("button", { name: "Edit VAT standard" }).click();
  const dialog = page.getByRole("dialog", { name: "Edit VAT standard" });
  await dialog.getByRole("textbox", { name: /^Percent/ }).fill("19");
  await dialog.getByRole("button", { name: "Save" }).click();
  await expect(dialog).toBeHidden();
  await expect(table.getByRole("row").filter({ hasText: "VAT standard" })).toContainText("19%");

  await page.getByRole("button", { name: "Archive VAT standard" }).click();
  const confirm = page.getByRole("dialog", { name: "Archive VAT standard?" });
  await expect(confirm).toContainText("can no longer use VAT standard");
  await confirm.getByRole("button", { name: "Archive" }).click();
  await expect(page.getByText("No tax rates yet")).toBeVisible();
  await page.getByRole("switch", { name: "Show archived rates" }).check({ force: true });
  await expect(table.getByRole("row").filter({ hasText: "VAT standard" })).toContainText("Archived");
});

test("seller details: a bad IBAN is refused on its field, the fixed details are saved", async ({ page, request }) => {
  const firm = await newFirm(request, "seller");
  await signIn(page, firm.email, firm.password);
  await page.goto("/billing/settings");
  await expect(page.getByRole("heading", { level: 1, name: "Billing settings" })).toBeVisible();
  await expectAccessible(page);

  await field(page, "Legal name").fill("Example Accounting GmbH");
  await field(page, "Street and number").fill("Hauptstraße 1");
  await field(page, "Postal code").fill("10115");
  await field(page, "City").fill("Berlin");
  await field(page, /^Country/).fill("DE");
  await field(page, "VAT id").fill("DE123456789");
  await field(page, "IBAN").fill("DE00 1234");
  await page.getByRole("button", { name: "Save seller details" }).click();
  await expect(field(page, "IBAN")).toHaveAttribute("aria-invalid", "true");
  await expect(page.getByText(/An IBAN starts with a two-letter country code/)).toBeVisible();

  await field(page, "IBAN").fill("DE89 3704 0044 0532 0130 00");
  await page.getByRole("button", { name: "Save seller details" }).click();
  await expect(page.getByText("Seller details saved.")).toBeVisible();
  await expect(field(page, "IBAN")).not.toHaveAttribute("aria-invalid", "true");

  const api = await apiAs(firm);
  const saved = (await (await api.get("/v1/billing/settings")).json()) as Record<string, unknown>;
  expect(saved).toMatchObject({
    seller_legal_name: "Example Accounting GmbH",
    seller_city: "Berlin",
    seller_country: "DE",
    seller_iban: "DE89370400440532013000",
  });
  await api.dispose();

  await page.reload();
  await expect(field(page, "Legal name")).toHaveValue("Example Accounting GmbH");
});

test("a dunning template with a syntax error shows the API's error on its field; a good one previews", async ({
  page,
  request,
}) => {
  const firm = await newFirm(request, "dunning");
  await signIn(page, firm.email, firm.password);
  await page.goto("/billing/dunning-policy");
  await expect(page.getByRole("heading", { level: 1, name: "Dunning policy" })).toBeVisible();
  const step = page.getByRole("group", { name: "Step 1" });
  await expect(step.getByLabel("Key")).toHaveValue("due-soon");
  await expectAccessible(page);

  const subject = field(page, "Email subject").and(step.locator("input"));
  await subject.fill("Invoice {{ invoice.number");
  await step.getByRole("button", { name: /^Preview step 1/ }).click();
  await expect(subject).toHaveAttribute("aria-invalid", "true");
  await expect(step.getByText(/unexpected end of template/)).toBeVisible();

  await subject.fill("Hello {{ client.name }}, about {{ invoice.number }}");
  await step.getByRole("button", { name: /^Preview step 1/ }).click();
  const preview = step.getByRole("region", { name: /Preview of step 1/ });
  await expect(preview).toContainText("Subject: Hello Example Client Ltd, about INV-2026-0042");
  await expect(preview).toContainText("Dear Example Client Ltd");
  await expect(subject).not.toHaveAttribute("aria-invalid", "true");

  await page.getByRole("button", { name: "Save policy" }).click();
  await expect(page.getByText(/Dunning policy saved \(version 2\)/)).toBeVisible();
});
