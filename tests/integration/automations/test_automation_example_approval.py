"""The expense approval example (examples/automations/expense-approval.yaml), imported
through the API and run end to end on the time-skipping server with the real worker and a
real SMTP server: two admins approve (the owner who started the run may not), and the
deciding vote's form pays the claim; one rejection tells the employee why; three days
without a decision go to accounting."""

import contextlib
from typing import Any

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from core.roles import Role
from tests.factories import Actor
from tests.integration.automations.test_approval_runs import (
    APPROVALS,
    colleague,
    delivered,
    status_of,
    vote,
    waiting_for,
)
from tests.integration.automations.test_automation_examples import (
    activated,
    executed,
    finished,
    run_detail,
    start_manual,
)
from tests.mailbox import Mailbox
from tests.problems import assert_problem, pointers

EXAMPLE = "expense-approval.yaml"

Maker = async_sessionmaker[AsyncSession]


def claim(number: int, accountant: Actor) -> dict[str, Any]:
    return {
        "claim_id": f"EXP-{number}",
        "employee": "Dana Reyes",
        "employee_email": "dana@firm.example",
        "amount": 1840.5,
        "currency": "EUR",
        "purpose": "Client workshop travel",
        "accountant_id": str(accountant.user.id),
    }


async def tasks_for(api: AsyncClient, actor: Actor, assignee: Actor) -> list[str]:
    response = await api.get(
        "/v1/tasks", params={"assignee": str(assignee.user.id)}, headers=actor.headers
    )
    assert response.status_code == 200, response.text
    return [task["title"] for task in response.json()["items"]]


async def test_expense_claims_approved_rejected_and_undecided(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    mailing_worker: Worker,
    committing_sessionmaker: Maker,
    mailbox: Mailbox,
    committed_owner: Actor,
) -> None:
    api = temporal_api
    first_admin, second_admin = [
        await colleague(committing_sessionmaker, committed_owner, Role.admin) for _ in range(2)
    ]
    accountant = await colleague(committing_sessionmaker, committed_owner, Role.staff)
    automation_id = await activated(api, committed_owner, EXAMPLE)

    # Approved: two admins, the second one's form decides what is paid.
    approved_run = await start_manual(api, committed_owner, automation_id, claim(1, accountant))
    approval = await waiting_for(api, first_admin, approved_run)
    assert approval["title"] == "Expense EXP-1: 1840.5 EUR for Dana Reyes"
    assert approval["quorum"] == 2 and set(approval["form"]) == {"amount", "account", "note"}
    await delivered(mailbox, 2)
    assert sorted(r for [r] in mailbox.recipients) == sorted(
        [first_admin.user.email, second_admin.user.email]
    )
    assert '"Client workshop travel"' in mailbox.body(0)
    mine = await api.post(
        f"{APPROVALS}/{approval['id']}",
        json={"decision": "approve"},
        headers=committed_owner.headers,
    )
    assert assert_problem(mine, 403)["type"].endswith("/initiator-may-not-approve")
    snacks = await api.post(
        f"{APPROVALS}/{approval['id']}",
        json={"decision": "approve", "form": {"amount": 10, "account": "snacks"}},
        headers=first_admin.headers,
    )
    assert pointers(assert_problem(snacks, 422)) == {"/form/account"}
    form = {"amount": 1800, "account": "travel", "note": "Receipts checked."}
    assert (await vote(api, first_admin, approval["id"], form=form))["status"] == "pending"
    decided = await vote(
        api, second_admin, approval["id"], form={"amount": 1750, "account": "travel"}
    )
    assert decided["status"] == "approved"

    result = await finished(temporal_env, approved_run)
    assert result.status == "succeeded", result.error
    detail = await run_detail(api, committed_owner, approved_run)
    assert executed(detail) == ["approve", "reimburse", "tell_approved"]
    assert await tasks_for(api, committed_owner, accountant) == [
        "Reimburse EXP-1: 1750 EUR (travel)"
    ]
    await delivered(mailbox, 3)
    assert mailbox.recipients[2] == ["dana@firm.example"]
    assert str(mailbox.messages[2]["Subject"]) == "Expense EXP-1 approved"
    assert "1750 EUR will be reimbursed." in mailbox.body(2)

    # Rejected: one admin's rejection is enough, and its comment reaches the employee.
    rejected_run = await start_manual(api, committed_owner, automation_id, claim(2, accountant))
    approval = await waiting_for(api, second_admin, rejected_run)
    await vote(api, second_admin, approval["id"], "reject", comment="Not a client expense.")
    result = await finished(temporal_env, rejected_run)
    assert result.status == "succeeded", result.error
    assert executed(await run_detail(api, committed_owner, rejected_run)) == [
        "approve",
        "tell_rejected",
    ]
    await delivered(mailbox, 6)
    assert str(mailbox.messages[5]["Subject"]) == "Expense EXP-2 not approved"
    assert "was not approved:\nNot a client expense." in mailbox.body(5).replace("\r\n", "\n")

    # Undecided: the three days pass (skipped) and accounting gets a task.
    undecided_run = await start_manual(api, committed_owner, automation_id, claim(3, accountant))
    approval = await waiting_for(api, first_admin, undecided_run)
    # A failed run fails its workflow too; the run row says how.
    with contextlib.suppress(WorkflowFailureError):
        await finished(temporal_env, undecided_run)
    undecided = await run_detail(api, committed_owner, undecided_run)
    assert undecided["status"] == "failed"
    assert undecided["error"] == {
        "step": "give_up",
        "message": "Expense EXP-3 was not decided within three days",
    }
    assert executed(undecided) == [
        "approve",
        "undecided",
        "give_up",
    ]
    assert await status_of(api, committed_owner, approval["id"]) == "expired"
    assert "Expense EXP-3 was not decided within three days" in await tasks_for(
        api, committed_owner, accountant
    )
