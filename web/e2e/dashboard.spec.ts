import { expect, test } from "@playwright/test";

import { activeAutomation, expectRunStatus, ownerId, startRun } from "./approvals.helpers";
import { apiAs, expectAccessible, newFirm, signIn } from "./stack";

test("the dashboard shows my open task, a failed run and what is owed", async ({ page, request }) => {
  const firm = await newFirm(request, "dash");
  const api = await apiAs(firm);
  const owner = await ownerId(api);
  const task = await api.post("/v1/tasks", {
    data: { title: "Send the engagement letter", assignee_id: owner },
  });
  expect(task.status(), await task.text()).toBe(201);
  const automationId = await activeAutomation(api, "Bank feed import", {
    schema_version: 1,
    trigger: { type: "manual" },
    start: "fail",
    steps: { fail: { type: "stop", params: { status: "failed", message: "The bank feed is unreachable" } } },
  });
  const runId = await startRun(api, automationId);
  const client = await api.post("/v1/clients", { data: { name: "Initech" } });
  expect(client.status(), await client.text()).toBe(201);
  const invoice = await api.post("/v1/invoices", {
    data: {
      client_id: ((await client.json()) as { id: string }).id,
      lines: [{ description: "Bookkeeping", quantity: "1", unit_price: 125_000 }],
    },
  });
  expect(invoice.status(), await invoice.text()).toBe(201);
  const finalized = await api.post(`/v1/invoices/${((await invoice.json()) as { id: string }).id}/finalize`);
  expect(finalized.status(), await finalized.text()).toBe(200);
  await expectRunStatus(api, runId, "failed");

  await signIn(page, firm.email, firm.password);
  await expect(page.getByRole("heading", { level: 1, name: "Dashboard" })).toBeVisible();
  const tasks = page.getByRole("region", { name: "My open tasks" });
  await expect(tasks).toContainText("Send the engagement letter");
  const runs = page.getByRole("region", { name: "Failed runs, last 24 hours" });
  await expect(runs).toContainText("Bank feed import");
  await expect(runs).toContainText("The bank feed is unreachable");
  await expect(page.getByRole("region", { name: "Receivables aging" })).toContainText("$1,250.00");
  await expect(page.getByRole("figure", { name: /Revenue by month/ })).toBeVisible();
  await expect(page.getByRole("region", { name: "Approvals waiting on me" })).toContainText(
    "Nothing waits for your decision",
  );
  await expect(page.getByRole("region", { name: "Invoices in collections" })).toContainText(
    "No invoice is in collections",
  );
  await expectAccessible(page);

  await tasks.getByRole("link", { name: "All my tasks" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Tasks" })).toBeVisible();
  await api.dispose();
});
