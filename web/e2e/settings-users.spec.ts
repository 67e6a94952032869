import { expect, test } from "@playwright/test";

import { memberOf } from "./settings.helpers";
import { apiAs, emailsTo, expectAccessible, field, linkIn, newFirm, signIn } from "./stack";

test("an owner invites a user by email, changes their role, and cannot demote the only owner", async ({
  page,
  request,
}) => {
  const firm = await newFirm(request, "setusers");
  await signIn(page, firm.email, firm.password);
  await page.goto("/settings/users");
  await expect(page.getByRole("heading", { level: 1, name: "Users" })).toBeVisible();
  await expectAccessible(page);

  const invitee = `new.hire@${firm.slug}.example.com`;
  await field(page, "Email").fill(invitee);
  await field(page, "Name").fill("New Hire");
  await page.getByRole("button", { name: "Send invitation" }).click();
  await expect(page.getByRole("status")).toContainText(`Invitation emailed to ${invitee}`);

  // The link (and its one-time token) goes to the invitee only, never onto the admin's page.
  const [mail] = await emailsTo(request, invitee);
  if (!mail) throw new Error(`no invitation to ${invitee}`);
  const token = new URL(linkIn(mail.text, "/accept-invitation")).hash.replace(/^#token=/, "");
  expect(token).not.toBe("");
  expect(await page.content()).not.toContain(token);

  const row = page.getByTestId(`user-${invitee}`);
  await expect(row).toContainText("Invitation pending");
  await row.getByRole("combobox", { name: "Role of New Hire" }).click();
  await page.getByRole("option", { name: "Admin" }).click();
  await expect(page.getByText("New Hire is now Admin.")).toBeVisible();
  await expect(row.getByRole("combobox", { name: "Role of New Hire" })).toHaveValue("Admin");

  const ownerRow = page.getByTestId(`user-${firm.email}`);
  const ownerRole = ownerRow.getByRole("combobox", { name: /^Role of / });
  await ownerRole.click();
  await page.getByRole("option", { name: "Staff" }).click();
  await expect(ownerRow.getByRole("alert")).toContainText("last active owner");
  await expect(ownerRole).toHaveValue("Owner");
  await expectAccessible(page);
});

test("the audit log filtered by an actor shows that actor's actions only", async ({ page, request }) => {
  const firm = await newFirm(request, "setaudit");
  const owner = await apiAs(firm);
  const admin = await memberOf(owner, request, firm, "admin");
  for (const [api, name] of [
    [admin.api, "made_by_admin"],
    [owner, "made_by_owner"],
  ] as const) {
    const created = await api.post("/v1/credentials", { data: { name, value: "not shown" } });
    expect(created.status(), await created.text()).toBe(201);
  }

  await signIn(page, firm.email, firm.password);
  await page.goto("/settings/audit-log");
  await expect(page.getByRole("heading", { level: 1, name: "Audit log" })).toBeVisible();
  const events = page.getByRole("table", { name: "Audit events" });
  await expect(events).toContainText("made_by_owner");
  await expect(events).toContainText("made_by_admin");
  await expectAccessible(page);

  await page.getByRole("combobox", { name: "Actor" }).click();
  await page.getByRole("option", { name: /The admin/ }).click();
  await page.getByRole("button", { name: "Apply filters" }).click();
  await expect(page).toHaveURL(new RegExp(`actor=${admin.id}`));
  await expect(events).toContainText("credential.created");
  await expect(events).toContainText("made_by_admin");
  await expect(events).toContainText("user.invitation_accepted");
  await expect(events).not.toContainText("made_by_owner");
  await expect(events).not.toContainText("user.invited");

  // A record's id opens that record's whole history.
  await events.getByRole("link", { name: /^History of credential / }).click();
  await expect(page).toHaveURL(/record_type=credential&record_id=/);
  await expect(events.getByRole("row")).toHaveCount(2);
  await expect(events).toContainText("made_by_admin");

  // A range that ends before it starts: the API's reason, on the field it names.
  await field(page, /^From/).fill("2030-01-02T00:00");
  await field(page, /^Until/).fill("2030-01-01T00:00");
  await page.getByRole("button", { name: "Apply filters" }).click();
  await expect(field(page, /^From/)).toHaveAccessibleDescription(/must be before 'to'/);

  await admin.api.dispose();
  await owner.dispose();
});
