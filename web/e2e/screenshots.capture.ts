import { fileURLToPath } from "node:url";

import { expect, test, type APIRequestContext, type APIResponse, type Page } from "@playwright/test";

import { apiAs, signIn, unique, webUrl, type Firm } from "./stack";

// `make screenshots` (playwright.screenshots.config.ts): a demo firm with a little realistic
// data, and a PNG of each main screen in docs/ui/ for docs/web.md. Not part of the suite.
const OUT = fileURLToPath(new URL("../../docs/ui/", import.meta.url));

interface Created {
  id: string;
}

/** The created record's body; a failed call stops the capture with the API's problem. */
async function created<T = Created>(answer: APIResponse, what: string): Promise<T> {
  expect(answer.ok(), `${what}: ${answer.status()} ${await answer.text()}`).toBe(true);
  return (await answer.json()) as T;
}

function daysFromToday(days: number): string {
  const date = new Date();
  date.setUTCDate(date.getUTCDate() + days);
  return date.toISOString().slice(0, 10);
}

async function demoFirm(request: APIRequestContext): Promise<Firm & { ownerId: string }> {
  const slug = unique("harper-lowe").toLowerCase().slice(0, 40);
  const firm = {
    slug,
    name: "Harper & Lowe Accountants",
    email: `maya.harper@${slug}.example.com`,
    password: "correct horse battery staple",
  };
  const body = await created<{ token: string; user: Created }>(
    await request.post(`${webUrl}/v1/signup`, {
      data: {
        firm_name: firm.name,
        firm_slug: firm.slug,
        email: firm.email,
        password: firm.password,
        name: "Maya Harper",
        time_zone: "America/New_York",
        default_currency: "USD",
      },
    }),
    "sign-up",
  );
  return { ...firm, token: body.token, ownerId: body.user.id };
}

interface Demo {
  clientId: string;
  invoiceId: string;
  importId: string;
  payPath: string;
}

// Four new clients, one already there (skipped), two bad rows and a column nobody reads.
const IMPORT_CSV = `name,email,status,tags,notes
Globex Corporation,ap@globex.example.com,active,retainer;audit,Referred by Dana
Initech,billing@initech.example.com,prospect,,
Umbrella Health Clinic,finance@umbrella.example.com,active,payroll,
Northwind Traders,accounts@northwind-traders.example.com,active,,
Stark Bakery,not-an-email,active,,
Wayne Family Office,office@wayne.example.com,dormant,,
Soylent Foods,hello@soylent.example.com,active,,
`;

/** An import of IMPORT_CSV, once the worker has gone through every row. */
async function finishedImport(api: APIRequestContext): Promise<string> {
  const started = await created(
    await api.post("/v1/clients/imports", {
      multipart: {
        file: { name: "new-clients.csv", mimeType: "text/csv", buffer: Buffer.from(IMPORT_CSV) },
      },
    }),
    "client import",
  );
  await expect
    .poll(async () => ((await (await api.get(`/v1/clients/imports/${started.id}`)).json()) as { status: string }).status, {
      timeout: 60_000,
    })
    .toBe("completed");
  return started.id;
}

/** Clients, a contact, invoices in three states, a payment, tasks and two invitations. */
async function seed(api: APIRequestContext, ownerId: string, slug: string): Promise<Demo> {
  await created(
    await api.patch("/v1/billing/settings", {
      data: {
        seller_legal_name: "Harper & Lowe Accountants LLC",
        seller_address_line1: "200 Park Avenue South, Suite 1100",
        seller_postal_code: "10003",
        seller_city: "New York",
        seller_country: "US",
        seller_tax_number: "84-1234567",
      },
    }),
    "billing settings",
  );
  const clients: Created[] = [];
  for (const [name, kind, status, tags] of [
    ["Northwind Traders", "organization", "active", ["retainer", "priority"]],
    ["Contoso Dental Group", "organization", "active", ["payroll"]],
    ["Fabrikam Design Studio", "organization", "active", ["retainer"]],
    ["Alicia Moreno", "person", "active", ["personal-tax"]],
    ["Blue Yonder Logistics", "organization", "prospect", []],
  ] as const) {
    const email = `accounts@${name.toLowerCase().replace(/[^a-z]+/g, "-")}.example.com`;
    clients.push(
      await created(
        await api.post("/v1/clients", { data: { name, kind, status, tags: [...tags], email } }),
        `client ${name}`,
      ),
    );
  }
  const [northwind, contoso, fabrikam] = clients;
  if (!northwind || !contoso || !fabrikam) throw new Error("the demo clients were not created");
  await created(
    await api.post(`/v1/clients/${northwind.id}/contacts`, {
      data: { name: "Dana Whitfield", title: "CFO", email: "dana@northwind.example.com", is_primary: true },
    }),
    "contact",
  );

  const invoice = async (clientId: string, lines: object[]) =>
    created(await api.post("/v1/invoices", { data: { client_id: clientId, lines } }), "invoice");
  const sent = await invoice(northwind.id, [
    { description: "Monthly bookkeeping, November", quantity: 1, unit_price: 120_000 },
    { description: "Payroll processing (12 employees)", quantity: 12, unit_price: 1_500 },
  ]);
  await created(await api.post(`/v1/invoices/${sent.id}/finalize`), "finalize");
  await created(await api.post(`/v1/invoices/${sent.id}/send`), "send");
  const paid = await invoice(fabrikam.id, [
    { description: "Year-end accounts preparation", quantity: 1, unit_price: 240_000 },
  ]);
  await created(await api.post(`/v1/invoices/${paid.id}/finalize`), "finalize");
  await created(
    await api.post(`/v1/invoices/${paid.id}/payments`, {
      data: { amount: 240_000, currency: "USD", method: "bank_transfer", reference: "WIRE 5531" },
    }),
    "payment",
  );
  await invoice(contoso.id, [
    { description: "Quarterly payroll tax filings", quantity: 1, unit_price: 65_000 },
  ]);

  for (const [title, clientId, due] of [
    ["Collect the signed engagement letter", northwind.id, 2],
    ["Prepare Q4 estimated tax payments", contoso.id, 9],
    ["Reconcile the November bank feed", fabrikam.id, -1],
  ] as const) {
    await created(
      await api.post("/v1/tasks", {
        data: { title, client_id: clientId, assignee_id: ownerId, due_date: daysFromToday(due) },
      }),
      `task ${title}`,
    );
  }
  // Screens still being built may lack these endpoints: the capture goes on without them.
  for (const [name, role] of [["Sam Lowe", "admin"], ["Priya Natarajan", "staff"]] as const) {
    const email = `${name.split(" ")[0]?.toLowerCase()}@${slug}.example.com`;
    await api.post("/v1/users", { data: { email, name, role } });
  }
  const importId = await finishedImport(api);
  const link = await api.post(`/v1/invoices/${sent.id}/pay-link`);
  const payUrl = link.ok() ? new URL(((await link.json()) as { url: string }).url) : null;
  const payPath = payUrl ? payUrl.pathname + payUrl.search : `/pay/${sent.id}`;
  return { clientId: northwind.id, invoiceId: sent.id, importId, payPath };
}

/**
 * Waits for the screen to show its data: the page's heading, no loader left, and charts
 * drawn. A screen that is not built yet is captured as whatever its address shows.
 */
async function settle(page: Page): Promise<void> {
  await page.waitForLoadState("networkidle");
  await page
    .getByRole("heading", { level: 1 })
    .first()
    .waitFor({ timeout: 10_000 })
    .catch(() => undefined);
  await expect(page.locator(".mantine-Loader-root"))
    .toHaveCount(0, { timeout: 10_000 })
    .catch(() => undefined);
  if ((await page.locator(".recharts-wrapper").count()) > 0) {
    // Recharts animates its series in JavaScript for about a second after it mounts.
    await page.waitForTimeout(1_500);
  }
}

async function capture(page: Page, name: string, path: string): Promise<void> {
  await test.step(name, async () => {
    await page.goto(path);
    await settle(page);
    await page.screenshot({ path: `${OUT}${name}.png`, animations: "disabled" });
  });
}

test("a PNG of each main screen", async ({ page, request }) => {
  const firm = await demoFirm(request);
  const api = await apiAs(firm);
  const demo = await seed(api, firm.ownerId, firm.slug);
  await api.dispose();

  await capture(page, "sign-in", "/sign-in");
  await signIn(page, firm.email, firm.password);
  await capture(page, "dashboard", "/");
  await capture(page, "clients", "/clients");
  await capture(page, "client", `/clients/${demo.clientId}`);
  await capture(page, "import", `/imports/${demo.importId}`);
  await capture(page, "tasks", "/tasks");
  await capture(page, "invoices", "/invoices");
  await capture(page, "invoice", `/invoices/${demo.invoiceId}`);
  await capture(page, "reports", "/reports");
  await capture(page, "users", "/settings/users");
  await capture(page, "audit-log", "/settings/audit-log");
  // The client's view: no staff session, only the link the invoice email carries.
  await page.context().clearCookies();
  await capture(page, "pay", demo.payPath);
});
