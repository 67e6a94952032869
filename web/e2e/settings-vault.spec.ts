import { expect, test } from "@playwright/test";

import { expectAccessible, field, newFirm, signIn } from "./stack";

test("a credential is stored write-only, a bad allow-list host shows its error, two-factor is required", async ({
  page,
  request,
}) => {
  const firm = await newFirm(request, "setvault");
  await signIn(page, firm.email, firm.password);

  await page.goto("/settings/credentials");
  await expect(page.getByRole("heading", { level: 1, name: "Credentials" })).toBeVisible();
  await expectAccessible(page);
  const secret = "sk_live_never-shown-4242";
  await field(page, /^Name/).fill("crm_token");
  await field(page, /^Value/).fill(secret);
  await page.getByRole("button", { name: "Store credential" }).click();
  const vault = page.getByRole("table", { name: "Credentials" });
  await expect(vault).toContainText("{{ secrets.crm_token }}");
  await expect(field(page, /^Value/)).toHaveValue("");
  await page.getByRole("button", { name: "Replace value of crm_token" }).click();
  await expect(field(page, /^New value/)).toHaveValue("");
  expect(await page.content()).not.toContain(secret);
  await page.getByRole("button", { name: "Cancel" }).click();

  await page.goto("/settings/http-allow-list");
  await expect(page.getByRole("heading", { level: 1, name: "HTTP allow-list" })).toBeVisible();
  const host = field(page, /^Host, address or network/);
  await host.fill("0.0.0.0/0");
  await page.getByRole("button", { name: "Allow", exact: true }).click();
  await expect(page.getByText("the shortest prefix allowed is /8")).toBeVisible();
  await expect(host).toHaveAttribute("aria-invalid", "true");
  await host.fill("Intranet.Example.");
  await page.getByRole("button", { name: "Allow", exact: true }).click();
  await expect(page.getByRole("table", { name: /Allowed hosts/ })).toContainText("intranet.example");
  await expectAccessible(page);

  await page.goto("/settings/security");
  await expect(page.getByTestId("two-factor-state")).toHaveText("Optional");
  await expectAccessible(page);
  await page.getByRole("button", { name: "Require two-factor" }).click();
  const dialog = page.getByRole("dialog", { name: "Require two-factor of every member?" });
  await expect(dialog).toContainText("Members without two-factor are not signed in at their next password sign-in");
  await dialog.getByRole("button", { name: "Require two-factor" }).click();
  await expect(page.getByTestId("two-factor-state")).toHaveText("Required of every member");
});
