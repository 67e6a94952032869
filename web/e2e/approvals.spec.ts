import { expect, test } from "@playwright/test";

import { approvalOf, expectRunStatus, runAwaitingApproval } from "./approvals.helpers";
import { apiAs, emailsTo, expectAccessible, field, linkIn, newFirm, signIn, webUrl } from "./stack";

test("an approval decided from the emailed link", async ({ browser, request }) => {
  const firm = await newFirm(request, "approve");
  const api = await apiAs(firm);
  const { runId } = await runAwaitingApproval(api, "Acme Chairs");

  const emails = await emailsTo(request, firm.email);
  const email = emails.find((candidate) => candidate.subject === "Approval needed: Pay Acme Chairs");
  expect(email, emails.map((candidate) => candidate.subject).join(", ")).toBeDefined();
  const link = linkIn(email?.text ?? "", "/approvals/");

  // The link opened where nobody is signed in: sign in first, then land on the approval.
  const context = await browser.newContext({ baseURL: webUrl });
  const page = await context.newPage();
  await page.goto(link);
  await expect(page).toHaveURL(/\/sign-in\?next=/);
  await field(page, "Email").fill(firm.email);
  await field(page, "Password").fill(firm.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Pay Acme Chairs" })).toBeVisible();
  expect(new URL(page.url()).pathname).toBe(new URL(link).pathname);
  await expect(page.getByText("Acme Chairs sent an invoice for office chairs.")).toBeVisible();

  // Approving needs the required fields: the API's answer puts its error on the field.
  await page.getByRole("button", { name: "Approve" }).click();
  await expect(page.getByRole("alert")).toBeVisible();
  await expectAccessible(page);

  await field(page, "Amount to pay").fill("1750");
  await field(page, "Booking account").click();
  await page.getByRole("option", { name: "office" }).click();
  await field(page, "Comment").fill("Checked against the quote.");
  await page.getByRole("button", { name: "Approve" }).click();
  await expect(page.getByText(/This was approved/)).toBeVisible();
  await expect(page.getByText("Amount to pay: 1750")).toBeVisible();
  await expect(page.getByText("“Checked against the quote.”")).toBeVisible();
  await expectAccessible(page);

  await expectRunStatus(api, runId, "succeeded");
  await context.close();
  await api.dispose();
});

test("deciding an approval already decided shows the API's problem", async ({ page, request }) => {
  const firm = await newFirm(request, "twice");
  const api = await apiAs(firm);
  const { runId } = await runAwaitingApproval(api, "Globex");
  const approvalId = await approvalOf(api, runId);

  await signIn(page, firm.email, firm.password);
  await page.getByRole("link", { name: "Approvals", exact: true }).click();
  await page.getByRole("link", { name: "Pay Globex" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Pay Globex" })).toBeVisible();

  // Meanwhile the same approver rejects it elsewhere (here: through the API).
  const rejected = await api.post(`/v1/approvals/${approvalId}`, {
    data: { decision: "reject", comment: "Not ordered by us." },
  });
  expect(rejected.status(), await rejected.text()).toBe(200);

  await field(page, "Amount to pay").fill("10");
  await field(page, "Booking account").click();
  await page.getByRole("option", { name: "travel" }).click();
  await page.getByRole("button", { name: "Approve" }).click();
  await expect(page.getByTestId("problem")).toContainText(/already voted|closed/i);
  await expect(page.getByText(/This was rejected/)).toBeVisible();
  await expect(page.getByText("“Not ordered by us.”")).toBeVisible();

  await page.getByRole("link", { name: "All approvals" }).click();
  await expect(page.getByText("Nothing waits for your decision")).toBeVisible();
  await page.locator("label", { hasText: "All approvals" }).click();
  await expect(page.getByRole("row", { name: /Pay Globex.*Rejected/ })).toBeVisible();
  await expectAccessible(page);
  await api.dispose();
});
