"""Approvals without the run workflow: opening one as the activity does (rendered title and
message, the approvers chosen and emailed through a real SMTP server, a retried open that
finds its row), closing one (timeout and cancel, and the vote that got there first), and
the API: the list (mine, status, pages), one approval with its votes, and the vote with
each of its refusals (role, client user, other firm, the run's initiator, a second vote,
a closed approval, every form rule). Quorum, rejection, the outbox signal the decision
writes, audit events, and concurrent votes on committed transactions."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.unit_of_work import firm_transaction
from api.app import create_app
from core.config import Settings
from core.db import scope_to_firm
from core.principal import Principal
from core.roles import Role
from models import (
    Approval,
    ApprovalVote,
    AutomationRun,
    AutomationRunStep,
    OutboxMessage,
    RunStatus,
)
from providers.email import SmtpEmailProvider
from services import approvals as generic_approvals
from services.automations import approval_steps, approvals, run_records
from services.automations.step_errors import StepInvalid
from services.outbox.kinds import MessageKind
from tests.audit import audit_actions
from tests.automations import BASE, create, save_draft
from tests.factories import Actor, add_user, make_firm, principal_of
from tests.mailbox import Mailbox
from tests.problems import assert_problem, pointers
from workflows.automation.run.contracts import (
    APPROVAL_SIGNAL,
    ApprovalClose,
    ApprovalOpen,
    ApprovalOpened,
    ApprovalResult,
    FinishRun,
    StepRecord,
    workflow_id,
)

APPROVALS = "/v1/approvals"
PUBLIC_URL = "https://app.firmflow.example"


@pytest.fixture
def notifier(mailbox: Mailbox) -> approval_steps.Notifier:
    email = SmtpEmailProvider(host="127.0.0.1", port=mailbox.port, sender="ff@firmflow.example")
    return approval_steps.Notifier(email=email, public_url=PUBLIC_URL)


async def open_approval(
    maker: async_sessionmaker[AsyncSession],
    notifier: approval_steps.Notifier,
    request: ApprovalOpen,
) -> ApprovalOpened:
    """What the open_approval activity does, with its StepError left as it is."""
    async with firm_transaction(maker, request.firm_id) as session:
        approval, users = await approval_steps.open_approval(session, request)
    return await approval_steps.notify(notifier, approval, users)


async def close_approval(
    maker: async_sessionmaker[AsyncSession], request: ApprovalClose
) -> ApprovalResult:
    async with firm_transaction(maker, request.firm_id) as session:
        return await approval_steps.close_approval(session, request)


@dataclass(frozen=True)
class Opened:
    approval_id: uuid.UUID
    run_id: uuid.UUID
    automation_id: uuid.UUID
    notified: int

    @property
    def url(self) -> str:
        return f"{APPROVALS}/{self.approval_id}"


def approval_definition(params: dict[str, Any]) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "trigger": {"type": "manual"},
        "start": "ok",
        "steps": {
            "ok": {"type": "approval", "params": params, "next": "done"},
            "done": {"type": "stop"},
        },
    }


def staff_params(**extra: Any) -> dict[str, Any]:
    return {"approvers": {"roles": ["staff"]}, "title": "Pay the vendor", **extra}


async def run_of(http: AsyncClient, actor: Actor, params: dict[str, Any]) -> dict[str, Any]:
    """A running run, started by ``actor``, of a new automation with one approval step."""
    automation_id: str = (await create(http, actor))["id"]
    await save_draft(http, actor, automation_id, approval_definition(params))
    published = await http.post(f"{BASE}/{automation_id}/publish", headers=actor.headers)
    assert published.status_code == 201, published.text
    activated = await http.post(f"{BASE}/{automation_id}/activate", headers=actor.headers)
    assert activated.status_code == 200, activated.text
    started = await http.post(
        f"{BASE}/{automation_id}/runs", json={"payload": {}}, headers=actor.headers
    )
    assert started.status_code == 201, started.text
    run: dict[str, Any] = started.json()
    return run


def open_request(
    run: dict[str, Any],
    firm_id: uuid.UUID,
    params: dict[str, Any],
    *,
    context: dict[str, Any] | None = None,
    pending: list[StepRecord] | None = None,
) -> ApprovalOpen:
    return ApprovalOpen(
        run_id=uuid.UUID(run["id"]),
        firm_id=firm_id,
        automation_id=uuid.UUID(run["automation_id"]),
        step_id="ok",
        visit=1,
        position=1,
        params=params,
        context=context or {"trigger": {}},
        initiator_id=uuid.UUID(run["created_by"]),
        expires_at=datetime(2031, 3, 1, 12, tzinfo=UTC),
        started_at=datetime.now(UTC),
        pending=pending or [],
    )


async def opened(
    http: AsyncClient,
    maker: async_sessionmaker[AsyncSession],
    notifier: approval_steps.Notifier,
    starter: Actor,
    params: dict[str, Any],
    **request: Any,
) -> Opened:
    run = await run_of(http, starter, params)
    result = await open_approval(
        maker, notifier, open_request(run, starter.firm.id, params, **request)
    )
    return Opened(
        approval_id=result.approval_id,
        run_id=uuid.UUID(run["id"]),
        automation_id=uuid.UUID(run["automation_id"]),
        notified=result.notified,
    )


async def vote(
    http: AsyncClient, actor: Actor, approval: Opened, decision: str = "approve", **body: Any
) -> Any:
    return await http.post(approval.url, json={"decision": decision, **body}, headers=actor.headers)


async def signals(db: AsyncSession, firm_id: uuid.UUID, approval: Opened) -> list[dict[str, Any]]:
    await scope_to_firm(db, firm_id)
    rows = await db.scalars(
        select(OutboxMessage.payload).where(
            OutboxMessage.firm_id == firm_id,
            OutboxMessage.kind == MessageKind.signal_workflow,
            OutboxMessage.dedupe_key == f"approval:{approval.approval_id}:decided",
        )
    )
    return list(rows)


async def test_open_renders_chooses_approvers_emails_them_and_finds_its_row_on_retry(
    client: AsyncClient,
    db: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    notifier: approval_steps.Notifier,
    mailbox: Mailbox,
) -> None:
    owner = await make_firm(db)
    staff_a = await add_user(db, owner, Role.staff)
    staff_b = await add_user(db, owner, Role.staff)
    admin = await add_user(db, owner, Role.admin)
    await add_user(db, owner, Role.builder)
    await add_user(db, owner, Role.client)
    other_firm = await make_firm(db, "Rival")
    params = {
        "approvers": {
            "roles": ["staff", "owner"],
            "users": [str(admin.user.id), str(other_firm.user.id)],
        },
        "title": "Pay {{ trigger.vendor }}",
        "message": "Amount: {{ trigger.amount }} EUR",
        "quorum": 2,
    }
    record = StepRecord(
        step_id="check",
        step_type="set",
        position=1,
        status="succeeded",
        started_at=datetime.now(UTC),
        finished_at=datetime.now(UTC),
    )
    run = await run_of(client, owner, params)
    request = open_request(
        run,
        owner.firm.id,
        params,
        context={"trigger": {"vendor": "Northwind", "amount": 1200}},
        pending=[record],
    )
    before = len(mailbox.messages)
    first = await open_approval(sessionmaker, notifier, request)

    # The owner started the run and may not approve it; the other firm's user, the builder
    # and the client user are no approvers.
    assert first.title == "Pay Northwind" and first.notified == 3
    sent = mailbox.messages[before:]
    assert sorted(m["To"] for m in sent) == sorted(
        [staff_a.user.email, staff_b.user.email, admin.user.email]
    )
    body = mailbox.body(before)
    assert f"{PUBLIC_URL}/approvals/{first.approval_id}" in body
    assert "Amount: 1200 EUR" in body and "2 approvals are needed" in body
    assert sent[0]["Subject"] == "Approval needed: Pay Northwind"
    ids = {m["Message-ID"] for m in sent}

    # A retried attempt finds the row: the same approval, emailed with the same ids.
    again = await open_approval(sessionmaker, notifier, request)
    assert again.approval_id == first.approval_id
    assert {m["Message-ID"] for m in mailbox.messages[before + 3 :]} == ids

    await scope_to_firm(db, owner.firm.id)
    rows = (await db.scalars(select(Approval).where(Approval.run_id == request.run_id))).all()
    assert len(rows) == 1
    assert rows[0].message == "Amount: 1200 EUR" and rows[0].initiator_id == owner.user.id
    recorded = await db.scalar(
        select(func.count())
        .select_from(AutomationRunStep)
        .where(AutomationRunStep.run_id == request.run_id, AutomationRunStep.step_id == "check")
    )
    assert recorded == 1
    opened_once = Opened(first.approval_id, request.run_id, request.automation_id, 3)
    assert await audit_actions(
        db, owner.firm.id, record_type="approval", record_id=opened_once.approval_id
    ) == ["approval.opened"]


async def test_open_refuses_a_title_that_does_not_render(
    client: AsyncClient,
    db: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    notifier: approval_steps.Notifier,
) -> None:
    owner = await make_firm(db)
    params = staff_params(title="Pay {{ trigger.missing.name }}")
    run = await run_of(client, owner, params)
    with pytest.raises(StepInvalid) as refused:
        await open_approval(sessionmaker, notifier, open_request(run, owner.firm.id, params))
    assert "missing" in refused.value.message
    await scope_to_firm(db, owner.firm.id)
    assert await db.scalar(select(func.count()).select_from(Approval)) == 0


async def test_quorum_two_of_three_then_the_signal(
    client: AsyncClient,
    db: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    notifier: approval_steps.Notifier,
) -> None:
    owner = await make_firm(db)
    a, b, c = [await add_user(db, owner, Role.staff) for _ in range(3)]
    params = staff_params(
        quorum=2, form={"amount": {"type": "number", "required": True}, "note": {"type": "text"}}
    )
    approval = await opened(client, sessionmaker, notifier, owner, params)

    first = await vote(client, a, approval, form={"amount": 100}, comment="fine by me")
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "pending" and first.json()["approvals"] == 1
    assert await signals(db, owner.firm.id, approval) == []

    second = await vote(client, b, approval, form={"amount": 120.5, "note": "split"})
    assert second.status_code == 200, second.text
    decided = second.json()
    assert decided["status"] == "approved" and decided["decided_at"] is not None
    assert decided["result"] == {"amount": 120.5, "note": "split"}
    assert [v["user_id"] for v in decided["votes"]] == [str(a.user.id), str(b.user.id)]

    (message,) = await signals(db, owner.firm.id, approval)
    assert message["workflow_id"] == workflow_id(approval.run_id)
    assert message["signal"] == APPROVAL_SIGNAL
    result = ApprovalResult.model_validate(message["arg"])
    assert result.status == "approved" and result.form == {"amount": 120.5, "note": "split"}
    assert [v.comment for v in result.votes] == ["fine by me", None]

    late = await vote(client, c, approval, form={"amount": 1})
    assert assert_problem(late, 409)["type"].endswith("/approval-closed")
    assert await audit_actions(
        db, owner.firm.id, record_type="approval", record_id=approval.approval_id
    ) == [
        "approval.opened",
        "approval.voted",
        "approval.voted",
        "approval.approved",
    ]


async def test_one_rejection_rejects_without_the_form(
    client: AsyncClient,
    db: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    notifier: approval_steps.Notifier,
) -> None:
    owner = await make_firm(db)
    a, b = [await add_user(db, owner, Role.staff) for _ in range(2)]
    params = staff_params(quorum=2, form={"amount": {"type": "number", "required": True}})
    approval = await opened(client, sessionmaker, notifier, owner, params)
    assert (await vote(client, a, approval, form={"amount": 5})).status_code == 200

    rejected = await vote(client, b, approval, "reject", comment="not this quarter")
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["status"] == "rejected" and rejected.json()["rejections"] == 1
    (message,) = await signals(db, owner.firm.id, approval)
    result = ApprovalResult.model_validate(message["arg"])
    assert result.status == "rejected" and result.form == {}
    assert [v.decision for v in result.votes] == ["approve", "reject"]
    assert (
        await audit_actions(
            db, owner.firm.id, record_type="approval", record_id=approval.approval_id
        )
    )[-1] == "approval.rejected"


async def test_who_may_not_vote(
    client: AsyncClient,
    db: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    notifier: approval_steps.Notifier,
) -> None:
    owner = await make_firm(db)
    builder = await add_user(db, owner, Role.builder)
    portal = await add_user(db, owner, Role.client)
    rival = await make_firm(db, "Rival")
    rival_staff = await add_user(db, rival, Role.staff)
    # A named user of another firm never counts, even when named.
    params = staff_params(approvers={"roles": ["staff"], "users": [str(rival_staff.user.id)]})
    approval = await opened(client, sessionmaker, notifier, owner, params)

    wrong_role = assert_problem(await vote(client, builder, approval), 403)
    assert wrong_role["type"].endswith("/not-an-approver")
    assert "staff" in wrong_role["detail"] and "builder" in wrong_role["detail"]
    portal_vote = assert_problem(await vote(client, portal, approval), 403)
    assert portal_vote["type"].endswith("/permission-denied")
    assert_problem(await vote(client, rival_staff, approval), 404)
    assert_problem(await client.get(approval.url, headers=rival_staff.headers), 404)
    await scope_to_firm(db, owner.firm.id)
    assert await db.scalar(select(func.count()).select_from(ApprovalVote)) == 0


async def test_a_named_client_user_is_no_approver(
    client: AsyncClient,
    db: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    notifier: approval_steps.Notifier,
) -> None:
    owner = await make_firm(db)
    portal = await add_user(db, owner, Role.client)
    named = await add_user(db, owner, Role.staff)
    params = staff_params(approvers={"users": [str(portal.user.id), str(named.user.id)]}, quorum=1)
    approval = await opened(client, sessionmaker, notifier, owner, params)
    assert approval.notified == 1
    await scope_to_firm(db, owner.firm.id)
    row = await db.get_one(Approval, approval.approval_id)
    refused = generic_approvals.refusal(
        row,
        Principal(
            firm_id=owner.firm.id,
            user_id=portal.user.id,
            role=Role.client,
            credential="api_token",
        ),
    )
    assert isinstance(refused, generic_approvals.NotAnApprover)


async def test_the_runs_initiator_is_refused_unless_allowed(
    client: AsyncClient,
    db: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    notifier: approval_steps.Notifier,
) -> None:
    owner = await make_firm(db)
    refused = await opened(
        client, sessionmaker, notifier, owner, staff_params(approvers={"roles": ["owner"]})
    )
    body = assert_problem(await vote(client, owner, refused), 403)
    assert body["type"].endswith("/initiator-may-not-approve")
    assert "allow_initiator" in body["detail"]
    mine = await client.get(APPROVALS, params={"mine": "true"}, headers=owner.headers)
    assert str(refused.approval_id) not in {item["id"] for item in mine.json()["items"]}

    allowed = await opened(
        client,
        sessionmaker,
        notifier,
        owner,
        staff_params(approvers={"roles": ["owner"]}, allow_initiator=True),
    )
    approved = await vote(client, owner, allowed)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"


async def test_a_second_vote_is_a_conflict(
    client: AsyncClient,
    db: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    notifier: approval_steps.Notifier,
) -> None:
    owner = await make_firm(db)
    staff = await add_user(db, owner, Role.staff)
    approval = await opened(client, sessionmaker, notifier, owner, staff_params(quorum=2))
    assert (await vote(client, staff, approval)).status_code == 200
    again = assert_problem(await vote(client, staff, approval, "reject"), 409)
    assert again["type"].endswith("/already-voted")
    view = (await client.get(approval.url, headers=staff.headers)).json()
    assert view["status"] == "pending" and len(view["votes"]) == 1


async def test_a_vote_for_a_run_that_no_longer_runs_is_a_conflict(
    client: AsyncClient,
    db: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    notifier: approval_steps.Notifier,
) -> None:
    owner = await make_firm(db)
    staff = await add_user(db, owner, Role.staff)
    approval = await opened(client, sessionmaker, notifier, owner, staff_params())
    # As the workflow's finish_run records a run that ended another way (terminated).
    await scope_to_firm(db, owner.firm.id)
    await db.execute(
        update(AutomationRun)
        .where(AutomationRun.id == approval.run_id)
        .values(status=RunStatus.failed)
    )
    await db.commit()
    body = assert_problem(await vote(client, staff, approval), 409)
    assert body["type"].endswith("/approval-closed") and "failed" in body["detail"]


FORM = {
    "amount": {"type": "number", "required": True},
    "count": {"type": "integer"},
    "urgent": {"type": "boolean"},
    "vendor": {"type": "string", "max_length": 10},
    "notes": {"type": "text", "max_length": 20},
    "pay_on": {"type": "date"},
    "account": {"type": "choice", "choices": ["ops", "travel"]},
}


@pytest.mark.parametrize(
    ("form", "pointer", "detail"),
    [
        ({}, "/form/amount", "is required"),
        ({"amount": None}, "/form/amount", "is required"),
        ({"amount": "12"}, "/form/amount", "must be a number"),
        ({"amount": True}, "/form/amount", "must be a number"),
        ({"amount": 1, "count": 1.5}, "/form/count", "must be a whole number"),
        ({"amount": 1, "count": False}, "/form/count", "must be a whole number"),
        ({"amount": 1, "urgent": "yes"}, "/form/urgent", "must be true or false"),
        ({"amount": 1, "vendor": 7}, "/form/vendor", "must be a string"),
        ({"amount": 1, "vendor": "x" * 11}, "/form/vendor", "at most 10 characters"),
        ({"amount": 1, "vendor": "two\nlines"}, "/form/vendor", "single line"),
        ({"amount": 1, "notes": "y" * 21}, "/form/notes", "at most 20 characters"),
        ({"amount": 1, "pay_on": "01/03/2031"}, "/form/pay_on", "YYYY-MM-DD"),
        ({"amount": 1, "pay_on": "2031-02-30"}, "/form/pay_on", "not a calendar date"),
        ({"amount": 1, "account": "snacks"}, "/form/account", "one of: ops, travel"),
        ({"amount": 1, "colour": "red"}, "/form/colour", "not a field"),
        ({"amount": 1, "a/b": 1}, "/form/a~1b", "not a field"),
    ],
)
async def test_form_rules(
    client: AsyncClient,
    db: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    notifier: approval_steps.Notifier,
    form: dict[str, Any],
    pointer: str,
    detail: str,
) -> None:
    owner = await make_firm(db)
    staff = await add_user(db, owner, Role.staff)
    approval = await opened(client, sessionmaker, notifier, owner, staff_params(form=FORM))
    body = assert_problem(await vote(client, staff, approval, form=form), 422)
    assert pointers(body) == {pointer}
    assert detail in body["errors"][0]["detail"] and detail in body["detail"]
    await scope_to_firm(db, owner.firm.id)
    assert await db.scalar(select(func.count()).select_from(ApprovalVote)) == 0


async def test_a_valid_form_fills_in_every_field_and_a_rejection_needs_none(
    client: AsyncClient,
    db: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    notifier: approval_steps.Notifier,
) -> None:
    owner = await make_firm(db)
    staff = await add_user(db, owner, Role.staff)
    approval = await opened(client, sessionmaker, notifier, owner, staff_params(form=FORM))
    form = {"amount": 10, "count": 3, "urgent": False, "pay_on": "2031-03-01", "account": "ops"}
    approved = await vote(client, staff, approval, form=form)
    assert approved.status_code == 200, approved.text
    assert approved.json()["result"] == {**form, "vendor": None, "notes": None}

    other = await opened(client, sessionmaker, notifier, owner, staff_params(form=FORM))
    rejected = await vote(client, staff, other, "reject")
    assert rejected.status_code == 200, rejected.text
    # A rejection still may not send what the form does not hold.
    third = await opened(client, sessionmaker, notifier, owner, staff_params(form=FORM))
    body = assert_problem(await vote(client, staff, third, "reject", form={"x": 1}), 422)
    assert pointers(body) == {"/form/x"}


async def test_list_mine_status_and_pages(
    client: AsyncClient,
    db: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    notifier: approval_steps.Notifier,
) -> None:
    owner = await make_firm(db)
    staff = await add_user(db, owner, Role.staff)
    builder = await add_user(db, owner, Role.builder)
    for_staff = [
        await opened(client, sessionmaker, notifier, owner, staff_params(quorum=2))
        for _ in range(3)
    ]
    for_builder = await opened(
        client,
        sessionmaker,
        notifier,
        owner,
        staff_params(approvers={"users": [str(builder.user.id)]}),
    )

    async def mine(actor: Actor, **query: str) -> list[str]:
        response = await client.get(
            APPROVALS, params={"mine": "true", **query}, headers=actor.headers
        )
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    # Inside the test's one transaction every row has the same created_at (now() is the
    # transaction's start), so the order here is by id: compare sets, and pages by union.
    staff_ids = {str(a.approval_id) for a in for_staff}
    assert set(await mine(staff, status="pending")) == staff_ids
    assert await mine(builder) == [str(for_builder.approval_id)]
    assert (await vote(client, staff, for_staff[1])).status_code == 200
    assert set(await mine(staff, status="pending")) == staff_ids - {str(for_staff[1].approval_id)}

    everything = await client.get(APPROVALS, headers=builder.headers)
    assert len(everything.json()["items"]) == 4
    first = await client.get(APPROVALS, params={"limit": 3}, headers=builder.headers)
    assert first.json()["next_cursor"] is not None
    after = {"limit": 3, "cursor": first.json()["next_cursor"]}
    rest = await client.get(APPROVALS, params=after, headers=builder.headers)
    assert rest.json()["next_cursor"] is None
    paged = [i["id"] for i in first.json()["items"] + rest.json()["items"]]
    assert paged == [i["id"] for i in everything.json()["items"]]
    decided = await client.get(APPROVALS, params={"status": "approved"}, headers=owner.headers)
    assert decided.json()["items"] == []

    rival = await make_firm(db, "Rival")
    assert (await client.get(APPROVALS, headers=rival.headers)).json()["items"] == []


async def test_detail_shows_votes_and_form_spec(
    client: AsyncClient,
    db: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    notifier: approval_steps.Notifier,
) -> None:
    owner = await make_firm(db)
    staff = await add_user(db, owner, Role.staff)
    approval = await opened(
        client, sessionmaker, notifier, owner, staff_params(quorum=2, form=FORM, timeout=3600)
    )
    await vote(client, staff, approval, form={"amount": 3}, comment="ok")
    detail = await client.get(approval.url, headers=owner.headers)
    assert detail.status_code == 200, detail.text
    body = detail.json()
    assert body["form"]["account"]["choices"] == ["ops", "travel"]
    assert body["approvers"] == {"roles": ["staff"], "users": []}
    assert body["quorum"] == 2 and body["initiator_id"] == str(owner.user.id)
    assert body["expires_at"].startswith("2031-03-01T12:00")
    (cast,) = body["votes"]
    assert cast["user_id"] == str(staff.user.id) and cast["comment"] == "ok"
    assert cast["form"]["amount"] == 3
    assert_problem(await client.get(f"{APPROVALS}/{uuid.uuid4()}", headers=owner.headers), 404)

    views = await approvals.for_run(db, Principal.system(owner.firm.id), approval.run_id)
    assert [len(view.votes) for view in views] == [1]


async def test_close_expires_a_pending_approval_and_keeps_a_decided_one(
    client: AsyncClient,
    db: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    notifier: approval_steps.Notifier,
) -> None:
    owner = await make_firm(db)
    staff = await add_user(db, owner, Role.staff)
    waiting = await opened(client, sessionmaker, notifier, owner, staff_params())
    closed = await close_approval(
        sessionmaker,
        ApprovalClose(approval_id=waiting.approval_id, firm_id=owner.firm.id, reason="expired"),
    )
    assert closed.status == "expired" and closed.votes == []
    late = assert_problem(await vote(client, staff, waiting), 409)
    assert "expired" in late["detail"]
    assert (
        await audit_actions(
            db, owner.firm.id, record_type="approval", record_id=waiting.approval_id
        )
    )[-1] == "approval.expired"

    # The vote got there first: the timeout takes the decision rather than expiring it.
    decided = await opened(client, sessionmaker, notifier, owner, staff_params())
    assert (await vote(client, staff, decided)).status_code == 200
    again = await close_approval(
        sessionmaker,
        ApprovalClose(approval_id=decided.approval_id, firm_id=owner.firm.id, reason="expired"),
    )
    assert again.status == "approved" and len(again.votes) == 1

    rival = await make_firm(db, "Rival")
    with pytest.raises(StepInvalid):
        await close_approval(
            sessionmaker,
            ApprovalClose(approval_id=decided.approval_id, firm_id=rival.firm.id, reason="expired"),
        )


async def test_cancel_for_run_cancels_what_is_pending(
    client: AsyncClient,
    db: AsyncSession,
    sessionmaker: async_sessionmaker[AsyncSession],
    notifier: approval_steps.Notifier,
) -> None:
    owner = await make_firm(db)
    approval = await opened(client, sessionmaker, notifier, owner, staff_params())
    await scope_to_firm(db, owner.firm.id)
    principal = principal_of(owner)
    assert await approvals.cancel_for_run(db, principal, approval.run_id) == 1
    assert await approvals.cancel_for_run(db, principal, approval.run_id) == 0
    row = await db.get_one(Approval, approval.approval_id)
    assert row.status == "canceled" and row.decided_at is not None
    await db.commit()
    assert (
        await audit_actions(
            db, owner.firm.id, record_type="approval", record_id=approval.approval_id
        )
    )[-1] == "approval.canceled"


@pytest.mark.parametrize(("status", "left"), [("canceled", "canceled"), ("succeeded", "pending")])
async def test_a_run_that_ends_unsucceeded_closes_its_pending_approvals(
    client: AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    notifier: approval_steps.Notifier,
    db: AsyncSession,
    status: str,
    left: str,
) -> None:
    # A cancel can reach the workflow before it has heard that its approval opened; then
    # only the run's end is left to close the approval.
    owner = await make_firm(db)
    approval = await opened(client, sessionmaker, notifier, owner, staff_params())
    finish = FinishRun(run_id=approval.run_id, firm_id=owner.firm.id, status=status)
    async with firm_transaction(sessionmaker, owner.firm.id) as session:
        await run_records.finish_run(session, finish)
    async with firm_transaction(sessionmaker, owner.firm.id) as session:
        await run_records.finish_run(session, finish)
        row = await session.get_one(Approval, approval.approval_id)
        assert row.status == left


# Concurrent votes need transactions of their own: committed, on a firm of their own.


@pytest.fixture
async def committed_api(
    settings: Settings, committing_sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[AsyncClient]:
    app = create_app(settings, sessionmaker=committing_sessionmaker)
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def test_concurrent_votes_count_once_each(
    committed_api: AsyncClient,
    committing_sessionmaker: async_sessionmaker[AsyncSession],
    committed_owner: Actor,
    notifier: approval_steps.Notifier,
) -> None:
    owner = committed_owner
    async with committing_sessionmaker() as session:
        voters = [await add_user(session, owner, Role.staff) for _ in range(4)]
    approval = await opened(
        committed_api, committing_sessionmaker, notifier, owner, staff_params(quorum=2)
    )
    answers = await asyncio.gather(*(vote(committed_api, v, approval) for v in voters))
    # Two votes reach the quorum; whoever came later finds the approval decided.
    assert sorted(a.status_code for a in answers) == [200, 200, 409, 409]
    async with committing_sessionmaker() as session:
        await scope_to_firm(session, owner.firm.id)
        row = await session.get_one(Approval, approval.approval_id)
        assert row.status == "approved"
        assert await session.scalar(select(func.count()).select_from(ApprovalVote)) == 2
        assert len(await signals(session, owner.firm.id, approval)) == 1

    # The same person voting twice at once: one vote, one conflict.
    twice = await opened(
        committed_api, committing_sessionmaker, notifier, owner, staff_params(quorum=3)
    )
    same = await asyncio.gather(
        vote(committed_api, voters[0], twice), vote(committed_api, voters[0], twice, "reject")
    )
    assert sorted(a.status_code for a in same) == [200, 409]

    # A vote racing the timeout: one of them wins, and both sides agree on which.
    raced = await opened(committed_api, committing_sessionmaker, notifier, owner, staff_params())
    answer, closed = await asyncio.gather(
        vote(committed_api, voters[1], raced),
        close_approval(
            committing_sessionmaker,
            ApprovalClose(approval_id=raced.approval_id, firm_id=owner.firm.id, reason="expired"),
        ),
    )
    async with committing_sessionmaker() as session:
        await scope_to_firm(session, owner.firm.id)
        row = await session.get_one(Approval, raced.approval_id)
    if answer.status_code == 200:
        assert closed.status == "approved" == row.status
    else:
        assert answer.status_code == 409
        assert closed.status == "expired" == row.status
