import { expect, request as requests, type APIRequestContext, type Page } from "@playwright/test";
import AxeBuilder from "@axe-core/playwright";

/** Where tests/browser/stack.py runs the harness: emails received, the Stripe key. */
export const harnessUrl = process.env.FIRMFLOW_HARNESS_URL ?? "http://127.0.0.1:9";
export const webUrl = process.env.FIRMFLOW_WEB_URL ?? "http://127.0.0.1:8000";

export interface Email {
  to: string[];
  subject: string;
  text: string;
  html: string;
}

/** The emails the real SMTP server received for ``to``, waiting until ``count`` arrived. */
export async function emailsTo(
  request: APIRequestContext,
  to: string,
  count = 1,
): Promise<Email[]> {
  let found: Email[] = [];
  await expect
    .poll(
      async () => {
        const answer = await request.get(`${harnessUrl}/mail?to=${encodeURIComponent(to)}`);
        found = (await answer.json()) as Email[];
        return found.length;
      },
      { message: `${count} email(s) to ${to}`, timeout: 30_000 },
    )
    .toBeGreaterThanOrEqual(count);
  return found;
}

/** The first link in ``text`` to this app whose path starts with ``path``. */
export function linkIn(text: string, path: string): string {
  const links = text.match(/https?:\/\/[^\s"'<>]+/g) ?? [];
  const link = links.find((candidate) => new URL(candidate).pathname.startsWith(path));
  if (!link) throw new Error(`no ${path} link in:\n${text}`);
  return link;
}

let serial = 0;

/** A name no other test (nor another run against the same stack) uses. */
export function unique(prefix: string): string {
  serial += 1;
  return `${prefix}-${Date.now().toString(36)}-${process.pid}-${serial}`;
}

export interface Firm {
  slug: string;
  name: string;
  email: string;
  password: string;
  /** The owner's bearer token, for setting data up through the API (see apiAs). */
  token: string;
}

/** A firm of its own for a test, through the public sign-up API (which also signs in). */
export async function newFirm(request: APIRequestContext, prefix = "firm"): Promise<Firm> {
  const slug = unique(prefix).toLowerCase().slice(0, 40);
  const firm = {
    slug,
    name: `Firm ${slug}`,
    email: `owner@${slug}.example.com`,
    password: "correct horse battery staple",
  };
  const answer = await request.post(`${webUrl}/v1/signup`, {
    data: {
      firm_name: firm.name,
      firm_slug: firm.slug,
      email: firm.email,
      password: firm.password,
      name: "Owner of " + slug,
      time_zone: "UTC",
      default_currency: "USD",
    },
  });
  expect(answer.status(), await answer.text()).toBe(201);
  const { token } = (await answer.json()) as { token: string };
  return { ...firm, token };
}

/**
 * An API client signed in as the firm's owner with a bearer token (no cookie, so no CSRF):
 * for the data a test needs before the screen it tests. Dispose of it at the end.
 */
export async function apiAs(firm: Firm): Promise<APIRequestContext> {
  return requests.newContext({
    baseURL: webUrl,
    extraHTTPHeaders: { Authorization: `Bearer ${firm.token}` },
  });
}

/**
 * The form control a label names. Mantine adds " *" to a required field's label and labels a
 * password's show/hide button too, so a plain getByLabel can match two elements.
 */
export function field(page: Page, label: string | RegExp) {
  return page.locator("input, textarea, select").and(page.getByLabel(label));
}

/** Signs in through the sign-in page, as a person would. */
export async function signIn(page: Page, email: string, password: string): Promise<void> {
  await page.goto("/sign-in");
  await field(page, "Email").fill(email);
  await field(page, "Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("button", { name: "Sign out" })).toBeVisible();
}

/** No serious or critical axe-core violation on the page as it is now. */
export async function expectAccessible(page: Page): Promise<void> {
  // Every rule runs; only the violations are detailed (passes and the rest are not
  // collected node by node), which takes about a quarter off each check.
  const results = await new AxeBuilder({ page }).options({ resultTypes: ["violations"] }).analyze();
  const bad = results.violations.filter(
    (violation) => violation.impact === "serious" || violation.impact === "critical",
  );
  expect(
    bad.map((violation) => `${violation.id}: ${violation.help} (${violation.nodes.length} nodes: ${violation.nodes.map((node) => node.target.join(" ")).slice(0, 3).join(" | ")})`),
  ).toEqual([]);
}
