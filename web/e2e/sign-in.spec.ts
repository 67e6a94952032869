import { expect, test } from "@playwright/test";

import { expectAccessible, field, newFirm, signIn } from "./stack";

test("a member signs in, lands on the dashboard, and signs out", async ({ page, request }) => {
  const firm = await newFirm(request, "signin");
  await page.goto("/");
  await expect(page).toHaveURL(/\/sign-in\?next=/);
  await expectAccessible(page);
  await signIn(page, firm.email, firm.password);
  await expect(page.getByRole("heading", { level: 1, name: "Dashboard" })).toBeVisible();
  await expectAccessible(page);
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/sign-in/);
  await page.goto("/");
  await expect(page).toHaveURL(/\/sign-in\?next=/);
});

test("a wrong password shows the API's problem, and nothing signs in", async ({ page, request }) => {
  const firm = await newFirm(request, "wrongpw");
  await page.goto("/sign-in");
  await field(page, "Email").fill(firm.email);
  await field(page, "Password").fill("not the password at all");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toContainText(/password/i);
  await expect(page).toHaveURL(/\/sign-in/);
});
