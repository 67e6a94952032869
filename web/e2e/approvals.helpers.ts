import { expect, type APIRequestContext } from "@playwright/test";

/** The signed-in owner's user id, as GET /v1/me gives it. */
export async function ownerId(api: APIRequestContext): Promise<string> {
  const me = await api.get("/v1/me");
  expect(me.status(), await me.text()).toBe(200);
  return ((await me.json()) as { user: { id: string } }).user.id;
}

/** A new automation with this definition published and active; its id. */
export async function activeAutomation(
  api: APIRequestContext,
  name: string,
  definition: Record<string, unknown>,
): Promise<string> {
  const created = await api.post("/v1/automations", { data: { name } });
  expect(created.status(), await created.text()).toBe(201);
  const { id } = (await created.json()) as { id: string };
  const draft = await api.put(`/v1/automations/${id}/draft`, { data: definition });
  expect(draft.status(), await draft.text()).toBe(200);
  const published = await api.post(`/v1/automations/${id}/publish`);
  expect(published.status(), await published.text()).toBe(201);
  const active = await api.post(`/v1/automations/${id}/activate`);
  expect(active.status(), await active.text()).toBe(200);
  return id;
}

/** Starts a run by hand; its id. */
export async function startRun(
  api: APIRequestContext,
  automationId: string,
  payload: Record<string, unknown> = {},
): Promise<string> {
  const started = await api.post(`/v1/automations/${automationId}/runs`, { data: { payload } });
  expect(started.status(), await started.text()).toBe(201);
  return ((await started.json()) as { id: string }).id;
}

/** Waits until the run reaches ``status``. */
export async function expectRunStatus(
  api: APIRequestContext,
  runId: string,
  status: string,
): Promise<void> {
  await expect
    .poll(
      async () => ((await (await api.get(`/v1/automation-runs/${runId}`)).json()) as { status: string }).status,
      { message: `run ${runId} ${status}`, timeout: 20_000 },
    )
    .toBe(status);
}

/**
 * A run that waits for the owner's approval of "Pay <vendor>", with a form (amount to pay,
 * booking account); approved, it stops as succeeded. The owner starts it too, which the
 * step allows.
 */
export async function runAwaitingApproval(
  api: APIRequestContext,
  vendor: string,
): Promise<{ runId: string }> {
  const owner = await ownerId(api);
  const automationId = await activeAutomation(api, "Vendor payment", {
    schema_version: 1,
    trigger: { type: "manual" },
    start: "approve",
    steps: {
      approve: {
        type: "approval",
        params: {
          approvers: { users: [owner] },
          allow_initiator: true,
          title: "Pay {{ trigger.vendor }}",
          message: "{{ trigger.vendor }} sent an invoice for office chairs.",
          form: {
            amount: { type: "number", label: "Amount to pay", required: true },
            account: { type: "choice", label: "Booking account", required: true, choices: ["office", "travel"] },
          },
        },
        next: "paid",
      },
      paid: { type: "stop", params: { message: "paid {{ steps.approve.output.form.amount }}" } },
    },
  });
  return { runId: await startRun(api, automationId, { vendor }) };
}

/** The run's pending approval's id, once the worker has opened it. */
export async function approvalOf(api: APIRequestContext, runId: string): Promise<string> {
  let found = "";
  await expect
    .poll(
      async () => {
        const answer = await api.get("/v1/approvals?mine=true&status=pending");
        const items = ((await answer.json()) as { items: { id: string; run_id: string }[] }).items;
        found = items.find((item) => item.run_id === runId)?.id ?? "";
        return found;
      },
      { message: `the approval of run ${runId}`, timeout: 20_000 },
    )
    .not.toBe("");
  return found;
}
