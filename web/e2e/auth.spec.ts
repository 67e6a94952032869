import { expect, test } from "@playwright/test";

import { expectSignedIn, shownSecret, submitPassword, totp } from "./auth.helpers";
import { apiAs, emailsTo, expectAccessible, field, linkIn, newFirm, signIn, unique, webUrl } from "./stack";

test("a firm requiring two-factor: enrol at sign-in from the QR's secret, then sign in with a code", async ({
  page,
  request,
}) => {
  const firm = await newFirm(request, "twofactor");
  const api = await apiAs(firm);
  expect((await api.put("/v1/firm/security-policy", { data: { require_two_factor: true } })).status()).toBe(200);
  await api.dispose();

  await page.goto("/sign-in");
  await submitPassword(page, firm.email, firm.password);
  await expect(page.getByText("Your firm requires two-factor sign-in")).toBeVisible();
  await page.getByRole("button", { name: "Set up two-factor" }).click();
  await expect(page.getByRole("img", { name: /QR code/ })).toBeVisible();
  await expectAccessible(page);
  const secret = await shownSecret(page);
  await field(page, "6-digit code").fill(totp(secret));
  await page.getByRole("button", { name: "Turn on two-factor" }).click();
  await expect(page.getByTestId("recovery-codes").getByRole("listitem")).toHaveCount(10);
  await expectAccessible(page);
  await page.getByRole("button", { name: /I have saved them/ }).click();
  await expectSignedIn(page);

  await page.goto("/account/two-factor");
  await expect(page.getByTestId("two-factor-state")).toHaveText("On");
  await expect(page.getByText("Your firm requires two-factor sign-in, so it cannot be turned off.")).toBeVisible();
  await expectAccessible(page);
  await page.getByRole("button", { name: "Sign out", exact: true }).click();

  await page.goto("/sign-in");
  await submitPassword(page, firm.email, firm.password);
  // A code from ten minutes ago is wrong now: the API's problem is shown, still no session.
  await field(page, "6-digit code").fill(totp(secret, Date.now() - 600_000));
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page.getByRole("alert")).toBeVisible();
  await expectAccessible(page);
  // The enrolment spent this step's code; an app a step ahead is within the allowed drift.
  await field(page, "6-digit code").fill(totp(secret, Date.now() + 30_000));
  await page.getByRole("button", { name: "Verify" }).click();
  await expectSignedIn(page);
  await expect(page.getByRole("heading", { level: 1, name: "Dashboard" })).toBeVisible();
});

test("a password reset from the emailed link, which works once", async ({ page, request }) => {
  const firm = await newFirm(request, "reset");
  const newPassword = "a fresh and long passphrase";

  await page.goto("/sign-in");
  await page.getByRole("link", { name: "Forgot password?" }).click();
  // The sign-in page has an Email field too: fill only once the reset page has replaced it.
  await expect(page.getByRole("heading", { level: 1, name: "Reset your password" })).toBeVisible();
  await field(page, "Email").fill(firm.email);
  await page.getByRole("button", { name: "Email me a link" }).click();
  await expect(page.getByText(/an email with a link to choose a new password is on its way/)).toBeVisible();
  await expectAccessible(page);

  const [email] = await emailsTo(request, firm.email);
  const link = linkIn(email?.text ?? "", "/reset-password");
  await page.goto(link);
  await expect(page.getByRole("heading", { level: 1, name: "Choose a new password" })).toBeVisible();
  await expectAccessible(page);
  await field(page, /^New password/).fill(newPassword);
  await field(page, "Repeat the new password").fill("something else entirely");
  await page.getByRole("button", { name: "Set the new password" }).click();
  await expect(page.getByText("The two passwords are not the same")).toBeVisible();
  await field(page, "Repeat the new password").fill(newPassword);
  await page.getByRole("button", { name: "Set the new password" }).click();

  await expect(page).toHaveURL(/\/sign-in\?notice=password-reset/);
  await expect(page.getByText("Password changed")).toBeVisible();
  await expectAccessible(page);
  await submitPassword(page, firm.email, newPassword);
  await expectSignedIn(page);

  // The link is spent: the API's problem, and the way to a new one.
  await page.goto(link);
  await field(page, /^New password/).fill(newPassword);
  await field(page, "Repeat the new password").fill(newPassword);
  await page.getByRole("button", { name: "Set the new password" }).click();
  await expect(page.getByRole("alert")).toContainText(/already been used/);
  await expect(page.getByRole("link", { name: "Request a new reset link" })).toBeVisible();
});

test("an emailed invitation: the invitee sets a password and lands signed in", async ({ page, request }) => {
  const firm = await newFirm(request, "invite");
  const invitee = `${unique("ivy")}@${firm.slug}.example.com`;
  const api = await apiAs(firm);
  const invited = await api.post("/v1/users", { data: { email: invitee, name: "Ivy Invitee", role: "staff" } });
  expect(invited.status(), await invited.text()).toBe(201);
  // The token goes only to the invitee's mailbox, never to whoever invited.
  expect(await invited.text()).not.toContain("ffi_");
  await api.dispose();

  const [email] = await emailsTo(request, invitee);
  expect(email?.subject).toContain(firm.name);
  const link = linkIn(email?.text ?? "", "/accept-invitation");
  await page.goto(link);
  await expect(page.getByRole("heading", { level: 1, name: "Join your firm on firmflow" })).toBeVisible();
  await expectAccessible(page);
  await field(page, /^Password/).fill("ivy's own long passphrase");
  await field(page, "Repeat the new password").fill("ivy's own long passphrase");
  await page.getByRole("button", { name: "Accept and sign in" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Dashboard" })).toBeVisible();
  await expect(page.getByText("Ivy Invitee", { exact: true })).toBeVisible();

  await page.goto(link);
  await field(page, /^Password/).fill("another long passphrase");
  await field(page, "Repeat the new password").fill("another long passphrase");
  await page.getByRole("button", { name: "Accept and sign in" }).click();
  await expect(page.getByRole("alert")).toContainText(/already been used/);
});

test("repeated wrong passwords are throttled, and the wait is shown", async ({ page, request }) => {
  const firm = await newFirm(request, "throttle");
  await page.goto("/sign-in");
  for (let attempt = 1; attempt <= 5; attempt += 1) {
    await submitPassword(page, firm.email, `wrong password number ${attempt}`);
    await expect(page.getByRole("alert")).toContainText(/Incorrect email or password/);
  }
  await submitPassword(page, firm.email, firm.password);
  await expect(page.getByRole("alert")).toContainText(/Try again in \d+ (second|minute)s?/);
  await expectAccessible(page);
});

test("one email in two firms picks the firm; SSO for a firm without it says so", async ({ page, request }) => {
  const first = await newFirm(request, "twofirms");
  const secondSlug = unique("second").toLowerCase().slice(0, 40);
  const second = await request.post(`${webUrl}/v1/signup`, {
    data: { firm_name: `Second ${secondSlug}`, firm_slug: secondSlug, email: first.email, password: first.password },
  });
  expect(second.status(), await second.text()).toBe(201);

  await page.goto("/sign-in");
  await submitPassword(page, first.email, first.password);
  await expect(page.getByRole("alert")).toContainText(/more than one firm/);
  await field(page, "Firm").fill(secondSlug);
  await expectAccessible(page);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(page.getByText(`Second ${secondSlug}`)).toBeVisible();
  await page.getByRole("button", { name: "Sign out", exact: true }).click();

  await page.getByRole("button", { name: "Use single sign-on (SSO)" }).click();
  await field(page, "Firm").fill(first.slug);
  await page.getByRole("button", { name: "Continue with SSO" }).click();
  await expect(page.getByRole("alert")).toBeVisible();
  await expect(page).toHaveURL(/\/sign-in/);
  await expectAccessible(page);
});

test("my account: an API token shown once then revoked, my sessions, my password", async ({ page, request }) => {
  const firm = await newFirm(request, "account");
  await signIn(page, firm.email, firm.password);

  await page.goto("/account/tokens");
  await expect(page.getByText("No API tokens yet")).toBeVisible();
  await expectAccessible(page);
  await field(page, "Name").fill("Nightly export");
  await page.getByRole("button", { name: "Create token" }).click();
  const shown = field(page, "New API token");
  await expect(shown).toHaveValue(/^ffp_/);
  const token = await shown.inputValue();
  await expectAccessible(page);
  const me = await request.get(`${webUrl}/v1/me`, { headers: { Authorization: `Bearer ${token}` } });
  expect(me.status()).toBe(200);
  await page.getByRole("button", { name: "I have stored it" }).click();
  await expect(shown).toHaveCount(0);
  const row = page.getByTestId("token-Nightly export");
  await expect(row).toContainText("Active");
  await row.getByRole("button", { name: "Revoke" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Revoke" }).click();
  await expect(row).toContainText("Revoked");
  const refused = await request.get(`${webUrl}/v1/me`, { headers: { Authorization: `Bearer ${token}` } });
  expect(refused.status()).toBe(401);

  await page.goto("/account/sessions");
  await expect(page.getByText("This browser")).toBeVisible();
  await expectAccessible(page);
  await page.getByRole("button", { name: "End all other sessions" }).click();
  await expect(page.getByRole("dialog")).toContainText("This browser stays signed in");
  await page.getByRole("dialog").getByRole("button", { name: "End all other sessions" }).click();
  await expect(page.getByText(/Ended 1 other sign-in/)).toBeVisible();
  // The sign-up's session (the firm's bearer token) was the other one.
  const ended = await request.get(`${webUrl}/v1/me`, { headers: { Authorization: `Bearer ${firm.token}` } });
  expect(ended.status()).toBe(401);

  await page.goto("/account/password");
  await expectAccessible(page);
  await field(page, "Current password").fill("not my password at all");
  await field(page, /^New password/).fill("a new and long passphrase");
  await field(page, "Repeat the new password").fill("a new and long passphrase");
  await page.getByRole("button", { name: "Change password" }).click();
  await expect(page.getByText("is incorrect", { exact: true })).toBeVisible();
});
