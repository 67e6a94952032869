import { expect, test } from "@playwright/test";

import { ownerId } from "./approvals.helpers";
import { apiAs, expectAccessible, field, newFirm, signIn } from "./stack";

test("tasks: overdue ones stand out, a new one is checked by the API, complete and reopen", async ({
  page,
  request,
}) => {
  const firm = await newFirm(request, "tasks");
  const api = await apiAs(firm);
  const owner = await ownerId(api);
  const overdue = await api.post("/v1/tasks", {
    data: { title: "File the annual return", assignee_id: owner, due_date: "2020-01-31" },
  });
  expect(overdue.status(), await overdue.text()).toBe(201);
  const taskId = ((await overdue.json()) as { id: string }).id;
  const unassigned = await api.post("/v1/tasks", { data: { title: "Water the plants" } });
  expect(unassigned.status(), await unassigned.text()).toBe(201);

  await signIn(page, firm.email, firm.password);
  await page.getByRole("link", { name: "Tasks", exact: true }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Tasks" })).toBeVisible();
  const row = page.getByRole("row", { name: /File the annual return/ });
  await expect(row).toContainText("Overdue");
  await expect(page.getByText("Water the plants")).toBeHidden();
  await page.locator("label", { hasText: "All tasks" }).click();
  await expect(page.getByText("Water the plants")).toBeVisible();
  await expect(page).toHaveURL(/view=all/);
  await expectAccessible(page);

  // A task without a title: the API's answer shows on the field.
  await page.getByRole("button", { name: "New task" }).click();
  const dialog = page.getByRole("dialog", { name: "New task" });
  await dialog.getByRole("button", { name: "Add task" }).click();
  await expect(dialog.getByTestId("problem")).toBeVisible();
  await expect(field(dialog.page(), "Title")).toHaveAttribute("aria-invalid", "true");
  await expectAccessible(page);
  await field(page, "Title").fill("Call the bank");
  await dialog.getByRole("button", { name: "Add task" }).click();
  await expect(dialog).toBeHidden();
  await expect(page.getByRole("row", { name: /Call the bank/ })).toBeVisible();

  await row.getByRole("button", { name: "Complete" }).click();
  await expect(row).toContainText("Done");
  await expect(row).not.toContainText("Overdue");
  const done = await api.get(`/v1/tasks/${taskId}`);
  expect(((await done.json()) as { status: string }).status).toBe("done");
  await row.getByRole("button", { name: "Reopen" }).click();
  await expect(row.getByRole("button", { name: "Complete" })).toBeVisible();
  await expect(row).toContainText("Overdue");
  const reopened = await api.get(`/v1/tasks/${taskId}`);
  expect(((await reopened.json()) as { status: string }).status).toBe("open");
  await api.dispose();
});
