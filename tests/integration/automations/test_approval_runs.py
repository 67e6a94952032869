"""Approval steps end to end: a run started through the API waits in the real
AutomationRunWorkflow (time-skipping server) while its approvers, emailed through a real
SMTP server, find the approval in their list and vote through the API; the deciding vote's
outbox signal wakes the run. Quorum (the form reaches later steps), the rejected branch,
the timeout branch, and a run canceled while it waits."""

import asyncio
from typing import Any

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from core.roles import Role
from tests.automations import (
    active_automation,
    closed,
    definition,
    finished,
    handle,
    start,
    step_rows,
)
from tests.factories import Actor, add_user
from tests.fixtures.workers import PUBLIC_URL
from tests.mailbox import Mailbox
from tests.problems import assert_problem

APPROVALS = "/v1/approvals"
# How long a test waits for the worker to open an approval (it takes milliseconds).
OPEN_DEADLINE = 30.0
POLL_INTERVAL = 0.05

Maker = async_sessionmaker[AsyncSession]


async def colleague(maker: Maker, owner: Actor, role: Role) -> Actor:
    async with maker() as session:
        return await add_user(session, owner, role)


async def waiting_for(http: AsyncClient, approver: Actor, run_id: str) -> dict[str, Any]:
    """The run's approval once the worker has opened it, as the approver's list shows it."""
    async with asyncio.timeout(OPEN_DEADLINE):
        while True:
            response = await http.get(
                APPROVALS, params={"mine": "true", "status": "pending"}, headers=approver.headers
            )
            assert response.status_code == 200, response.text
            items: list[dict[str, Any]] = response.json()["items"]
            found = [item for item in items if item["run_id"] == run_id]
            if found:
                return found[0]
            await asyncio.sleep(POLL_INTERVAL)


async def delivered(mailbox: Mailbox, count: int) -> None:
    async with asyncio.timeout(OPEN_DEADLINE):
        while True:
            if len(mailbox.messages) >= count:
                return
            await asyncio.sleep(POLL_INTERVAL)


async def status_of(http: AsyncClient, actor: Actor, approval_id: str) -> str:
    response = await http.get(f"{APPROVALS}/{approval_id}", headers=actor.headers)
    assert response.status_code == 200, response.text
    status: str = response.json()["status"]
    return status


async def vote(
    http: AsyncClient, actor: Actor, approval_id: str, decision: str = "approve", **body: Any
) -> dict[str, Any]:
    response = await http.post(
        f"{APPROVALS}/{approval_id}", json={"decision": decision, **body}, headers=actor.headers
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def approval_step(**params: Any) -> dict[str, Any]:
    return {
        "type": "approval",
        "params": {
            "approvers": {"roles": ["staff"]},
            "title": "Pay {{ trigger.vendor }}",
            **params,
        },
    }


async def test_two_of_three_approve_and_later_steps_read_the_form(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    mailing_worker: Worker,
    committing_sessionmaker: Maker,
    mailbox: Mailbox,
    committed_owner: Actor,
) -> None:
    a, b, c = [
        await colleague(committing_sessionmaker, committed_owner, Role.staff) for _ in range(3)
    ]
    form = {"amount": {"type": "number", "required": True}, "comment": {"type": "text"}}
    draft = definition(
        "ok",
        ok={
            **approval_step(quorum=2, form=form, message="{{ trigger.amount }} EUR"),
            "next": "use",
        },
        use={
            "type": "set",
            "params": {"vars": {"paid": "{{ steps.ok.output.form.amount }}"}},
            "next": "done",
        },
        done={"type": "stop", "params": {"message": "paid {{ vars.paid }}"}},
    )
    automation_id = await active_automation(temporal_api, committed_owner, draft)
    run_id = await start(
        temporal_api, committed_owner, automation_id, {"vendor": "Northwind", "amount": 300}
    )

    approval = await waiting_for(temporal_api, a, run_id)
    assert approval["title"] == "Pay Northwind" and approval["message"] == "300 EUR"
    # The row commits before the emails go out (a retry must find the same id): wait for
    # them. The owner started the run: no email for them, one for each staff member.
    await delivered(mailbox, 3)
    assert sorted(r for [r] in mailbox.recipients) == sorted(x.user.email for x in (a, b, c))
    link = f"{PUBLIC_URL}/approvals/{approval['id']}"
    assert all(link in mailbox.body(index) for index in range(len(mailbox.messages)))

    first = await vote(temporal_api, a, approval["id"], form={"amount": 250})
    assert first["status"] == "pending"
    second = await vote(temporal_api, b, approval["id"], form={"amount": 240, "comment": "ok"})
    assert second["status"] == "approved"

    run = await finished(temporal_api, temporal_env, committed_owner, run_id)
    assert run["status"] == "succeeded", run["error"]
    rows = step_rows(run)
    assert list(rows) == ["ok#1", "use#1", "done#1"]
    output = rows["ok#1"]["output"]
    assert output["approval_id"] == approval["id"] and output["status"] == "approved"
    assert output["form"] == {"amount": 240, "comment": "ok"}
    assert [v["user_id"] for v in output["votes"]] == [str(a.user.id), str(b.user.id)]
    assert rows["use#1"]["output"] == {"paid": 240}
    late = await temporal_api.post(
        f"{APPROVALS}/{approval['id']}", json={"decision": "approve"}, headers=c.headers
    )
    assert_problem(late, 409)


async def test_a_rejection_takes_the_rejected_branch(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    mailing_worker: Worker,
    committing_sessionmaker: Maker,
    committed_owner: Actor,
) -> None:
    staff = await colleague(committing_sessionmaker, committed_owner, Role.staff)
    draft = definition(
        "ok",
        ok={**approval_step(quorum=2), "next": "paid", "rejected": "declined"},
        paid={"type": "stop"},
        declined={
            "type": "stop",
            "params": {"message": "declined: {{ steps.ok.output.votes[-1].comment }}"},
        },
    )
    automation_id = await active_automation(temporal_api, committed_owner, draft)
    run_id = await start(temporal_api, committed_owner, automation_id, {"vendor": "Initech"})
    approval = await waiting_for(temporal_api, staff, run_id)
    rejected = await vote(temporal_api, staff, approval["id"], "reject", comment="over budget")
    assert rejected["status"] == "rejected"

    run = await finished(temporal_api, temporal_env, committed_owner, run_id)
    assert run["status"] == "succeeded", run["error"]
    rows = step_rows(run)
    assert list(rows) == ["ok#1", "declined#1"]
    assert rows["ok#1"]["output"]["status"] == "rejected"
    assert rows["ok#1"]["output"]["form"] == {}
    assert rows["declined#1"]["output"]["message"] == "declined: over budget"


async def test_no_decision_in_time_takes_the_timeout_branch(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    mailing_worker: Worker,
    committing_sessionmaker: Maker,
    committed_owner: Actor,
) -> None:
    staff = await colleague(committing_sessionmaker, committed_owner, Role.staff)
    two_days = 2 * 24 * 3600
    draft = definition(
        "ok",
        ok={**approval_step(timeout=two_days), "next": "paid", "on_timeout": "late"},
        paid={"type": "stop"},
        late={"type": "stop", "params": {"status": "failed", "message": "nobody decided"}},
    )
    automation_id = await active_automation(temporal_api, committed_owner, draft)
    run_id = await start(temporal_api, committed_owner, automation_id, {"vendor": "Globex"})
    approval = await waiting_for(temporal_api, staff, run_id)
    assert approval["expires_at"] is not None

    # Awaiting the result lets the test server skip the two days.
    run = await finished(temporal_api, temporal_env, committed_owner, run_id)
    assert run["status"] == "failed"
    assert run["error"] == {"step": "late", "message": "nobody decided"}
    assert step_rows(run)["ok#1"]["output"]["status"] == "expired"
    assert await status_of(temporal_api, committed_owner, approval["id"]) == "expired"
    too_late = await temporal_api.post(
        f"{APPROVALS}/{approval['id']}", json={"decision": "approve"}, headers=staff.headers
    )
    assert "expired" in assert_problem(too_late, 409)["detail"]


async def test_a_run_canceled_while_waiting_cancels_its_approval(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    mailing_worker: Worker,
    committing_sessionmaker: Maker,
    committed_owner: Actor,
) -> None:
    staff = await colleague(committing_sessionmaker, committed_owner, Role.staff)
    draft = definition("ok", ok={**approval_step(), "next": "paid"}, paid={"type": "stop"})
    automation_id = await active_automation(temporal_api, committed_owner, draft)
    run_id = await start(temporal_api, committed_owner, automation_id, {"vendor": "Hooli"})
    approval = await waiting_for(temporal_api, staff, run_id)

    await handle(temporal_env, run_id).cancel()
    await closed(handle(temporal_env, run_id))
    run = await finished(temporal_api, temporal_env, committed_owner, run_id)
    assert run["status"] == "canceled"
    assert await status_of(temporal_api, committed_owner, approval["id"]) == "canceled"
    listed = await temporal_api.get(
        APPROVALS, params={"mine": "true", "status": "pending"}, headers=staff.headers
    )
    assert approval["id"] not in {item["id"] for item in listed.json()["items"]}
