import { expect, request as requests, type APIRequestContext } from "@playwright/test";

import { emailsTo, linkIn, webUrl, type Firm } from "./stack";

/**
 * A second member of ``firm`` with ``role``, invited through the API and accepted from the
 * emailed link as the invitee would: an API client signed in as them (dispose of it).
 */
export async function memberOf(
  owner: APIRequestContext,
  request: APIRequestContext,
  firm: Firm,
  role: "admin" | "staff" | "builder",
): Promise<{ id: string; email: string; api: APIRequestContext }> {
  const email = `${role}@${firm.slug}.example.com`;
  const invited = await owner.post("/v1/users", { data: { email, name: `The ${role}`, role } });
  expect(invited.status(), await invited.text()).toBe(201);
  const [mail] = await emailsTo(request, email);
  if (!mail) throw new Error(`no invitation to ${email}`);
  const token = new URL(linkIn(mail.text, "/accept-invitation")).hash.replace(/^#token=/, "");
  const accepted = await request.post(`${webUrl}/v1/auth/accept-invitation`, {
    data: { token, password: "another correct horse staple" },
  });
  expect(accepted.status(), await accepted.text()).toBe(200);
  const session = (await accepted.json()) as { token: string; user: { id: string } };
  const api = await requests.newContext({
    baseURL: webUrl,
    extraHTTPHeaders: { Authorization: `Bearer ${session.token}` },
  });
  return { id: session.user.id, email, api };
}
