import { expect, test, type Page } from "@playwright/test";

import { apiAs, expectAccessible, field, newFirm, signIn, unique } from "./stack";

async function choose(page: Page, label: string, option: string) {
  await field(page, label).click();
  await page.getByRole("option", { name: option, exact: true }).click();
}

test("a client is created past an inline error, edited, given a contact, and archived", async ({ page, request }) => {
  const firm = await newFirm(request, "clients");
  const name = unique("Acme");
  await signIn(page, firm.email, firm.password);

  await page.goto("/clients");
  await expect(page.getByText("No clients yet")).toBeVisible();
  await expectAccessible(page);

  await page.getByRole("link", { name: "New client" }).first().click();
  await expect(page.getByRole("heading", { level: 1, name: "New client" })).toBeVisible();
  await field(page, "Name").fill(name);
  await field(page, "Email").fill("not-an-email");
  await page.getByRole("button", { name: "Create client" }).click();
  // The API's field error lands on the field it names.
  await expect(field(page, "Email")).toHaveAttribute("aria-invalid", "true");
  await expect(page.getByText(/email/i).and(page.locator(".mantine-InputWrapper-error"))).toBeVisible();
  await expectAccessible(page);
  await field(page, "Email").fill("billing@acme.example.com");
  await page.getByRole("button", { name: "Create client" }).click();
  await expect(page.getByRole("heading", { level: 1, name })).toBeVisible();
  await expect(page).toHaveURL(/\/clients\/[0-9a-f-]{36}$/);

  // Edit: a bad phone number is refused on its field, a good one saved.
  await page.getByRole("button", { name: "Edit", exact: true }).click();
  const dialog = page.getByRole("dialog", { name: `Edit ${name}` });
  await dialog.getByLabel("Phone").fill("call me");
  await dialog.getByRole("button", { name: "Save" }).click();
  await expect(dialog.getByLabel("Phone")).toHaveAttribute("aria-invalid", "true");
  await dialog.getByLabel("Phone").fill("+1 555 0100");
  await choose(page, "Status", "Active");
  await dialog.getByRole("button", { name: "Save" }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByText("+1 555 0100")).toBeVisible();

  // A contact, primary.
  await page.getByRole("button", { name: "Add contact" }).click();
  const contact = page.getByRole("dialog", { name: `New contact of ${name}` });
  await contact.getByLabel("Name").fill("Jane Roe");
  await contact.getByLabel("Primary contact").check();
  await contact.getByRole("button", { name: "Add contact" }).click();
  const contacts = page.getByRole("table", { name: "Contacts" });
  await expect(contacts.getByRole("row", { name: /Jane Roe primary/ })).toBeVisible();

  // The timeline says who did what.
  await page.getByRole("tab", { name: "Timeline" }).click();
  await expect(page).toHaveURL(/tab=timeline/);
  await expect(page.getByText("Created the client")).toBeVisible();
  await expect(page.getByText("Edited the client")).toBeVisible();
  await expect(page.getByText(/Phone: \+1 555 0100/)).toBeVisible();
  await expect(page.getByText(new RegExp(`Owner of ${firm.slug}`)).first()).toBeVisible();
  await expectAccessible(page);

  await page.getByRole("button", { name: "Archive" }).click();
  const confirm = page.getByRole("dialog", { name: `Archive ${name}?` });
  await expect(confirm).toContainText("read-only");
  await confirm.getByRole("button", { name: "Archive" }).click();
  await expect(page.getByText("This client is archived")).toBeVisible();
  await expect(page.getByText("Archived the client")).toBeVisible();
  await expect(page.getByRole("button", { name: "Edit", exact: true })).toHaveCount(0);
});

test("search, status, tags and the archive filter the list, and live in the address", async ({ page, request }) => {
  const firm = await newFirm(request, "clientsearch");
  const name = unique("Filtered");
  const api = await apiAs(firm);
  const created = await api.post("/v1/clients", { data: { name, status: "active", tags: ["vip", "tax"] } });
  expect(created.status(), await created.text()).toBe(201);
  const { id } = (await created.json()) as { id: string };
  expect((await api.post(`/v1/clients/${id}/archive`)).status()).toBe(200);
  await api.post("/v1/clients", { data: { name: unique("Other"), tags: ["vip"] } });
  await api.dispose();
  await signIn(page, firm.email, firm.password);

  await page.goto("/clients");
  await field(page, "Search").fill(name.slice(0, 14));
  await expect(page).toHaveURL(/q=/);
  await expect(page.getByText("No client matches these filters")).toBeVisible();
  await page.getByLabel("Archived clients only").check();
  const row = page.getByRole("link", { name });
  await expect(row).toBeVisible();
  await choose(page, "Status", "Inactive");
  await expect(page.getByText("No client matches these filters")).toBeVisible();
  await choose(page, "Status", "Active");
  await field(page, "Tags").fill("vip");
  await field(page, "Tags").press("Enter");
  await expect(page).toHaveURL(/status=active/);
  await expect(row).toBeVisible();
  await expectAccessible(page);
  await page.reload();
  await expect(row).toBeVisible();
  await row.click();
  await expect(page.getByRole("heading", { level: 1, name })).toBeVisible();
});

test("a member of one firm never sees another firm's client", async ({ page, request }) => {
  const firmA = await newFirm(request, "clients-a");
  const firmB = await newFirm(request, "clients-b");
  const secret = unique("Secret client");
  const asB = await apiAs(firmB);
  const created = await asB.post("/v1/clients", { data: { name: secret } });
  expect(created.status(), await created.text()).toBe(201);
  const { id } = (await created.json()) as { id: string };
  await asB.dispose();

  await signIn(page, firmA.email, firmA.password);
  await page.goto("/clients");
  await expect(page.getByText("No clients yet")).toBeVisible();
  await page.goto(`/clients?q=${encodeURIComponent(secret)}`);
  await expect(page.getByText("No client matches these filters")).toBeVisible();
  await expect(page.getByText(secret)).toHaveCount(0);

  await page.goto(`/clients/${id}`);
  await expect(page.getByRole("heading", { level: 1, name: "Client not found" })).toBeVisible();
  await expect(page.getByText(secret)).toHaveCount(0);
  await expectAccessible(page);
});
