import { readFile } from "node:fs/promises";

import { expect, test } from "@playwright/test";

import { expectAccessible, newFirm, signIn, unique } from "./stack";

test("a CSV with bad rows imports the good ones and lists the bad ones, downloadable", async ({ page, request }) => {
  const firm = await newFirm(request, "imports");
  const good = unique("Imported");
  const csv = [
    "Name,Email,Status,Notes",
    `${good} One,one@${firm.slug}.example.com,active,first`,
    `Bad Email,not-an-email,active,`,
    `Bad Status,bad@${firm.slug}.example.com,sleeping,`,
    `Again,one@${firm.slug}.example.com,active,duplicate of line 2`,
    `${good} Two,,prospect,`,
  ].join("\r\n");
  await signIn(page, firm.email, firm.password);

  await page.goto("/imports");
  await expect(page.getByText("No imports yet")).toBeVisible();
  const input = page.locator('input[type="file"]');

  // A file the import cannot read says why before anything is sent.
  await input.setInputFiles({ name: "no-names.csv", mimeType: "text/csv", buffer: Buffer.from("email\nx@y.z\n") });
  await expect(page.getByRole("alert")).toContainText("no 'name' column");
  await expect(page.getByRole("button", { name: "Start import" })).toBeDisabled();

  await input.setInputFiles({ name: "clients.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
  const columns = page.getByRole("table", { name: /Columns of the file/ });
  await expect(columns.getByRole("row", { name: /Email Email/ })).toBeVisible();
  await expect(columns.getByRole("row", { name: /Notes ignored/ })).toBeVisible();
  await expectAccessible(page);
  await page.getByRole("button", { name: "Start import" }).click();

  await expect(page).toHaveURL(/\/imports\/[0-9a-f-]{36}$/);
  await expect(page.getByRole("heading", { level: 1, name: "Import of clients.csv" })).toBeVisible();
  await expect(page.getByRole("progressbar", { name: "Import progress" })).toHaveAttribute("aria-valuenow", "100");
  await expect(page.getByText("5 of 5 rows decided · 100%")).toBeVisible();
  const problems = page.getByRole("table", { name: "Skipped and invalid rows" });
  await expect(problems.getByRole("row")).toHaveCount(4);
  await expect(problems.getByRole("row", { name: /^3 invalid/ })).toContainText(/email/i);
  await expect(problems.getByRole("row", { name: /^4 invalid/ })).toContainText(/status/i);
  await expect(problems.getByRole("row", { name: /^5 skipped/ })).toBeVisible();
  await expect(page.getByText("Notes", { exact: true })).toBeVisible();
  await expectAccessible(page);

  const download = page.waitForEvent("download");
  await page.getByRole("button", { name: "Download as CSV" }).click();
  const file = await download;
  expect(file.suggestedFilename()).toBe("clients-problems.csv");
  const lines = (await readFile(await file.path(), "utf8")).trim().split(/\r\n/);
  expect(lines[0]).toBe("line,outcome,reason");
  expect(lines.slice(1).map((line) => line.split(",").slice(0, 2).join(","))).toEqual([
    "3,invalid",
    "4,invalid",
    "5,skipped",
  ]);

  await page.getByRole("link", { name: "← Client imports" }).click();
  const past = page.getByRole("table", { name: "Past imports" });
  await expect(past.getByRole("row", { name: /clients\.csv completed 5 2 1 2/ })).toBeVisible();
  await page.goto(`/clients?q=${encodeURIComponent(good)}`);
  await expect(page.getByRole("link", { name: `${good} One` })).toBeVisible();
  await expect(page.getByRole("link", { name: `${good} Two` })).toBeVisible();
});
