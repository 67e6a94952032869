"""The dunning policy API (default on first read, replace, validation with pointers, who may
change it, the signals a change queues), the template preview, pause and resume per
invoice and per client, and an invoice's dunning view without a Temporal to ask."""

import uuid
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import scope_to_firm
from core.roles import Role
from models import AuditEvent, InvoiceStatus, OutboxMessage
from services.billing.dunning_policy import DEFAULT_POLICY
from tests.billing_factories import make_client, make_invoice
from tests.factories import Actor, add_user, make_firm
from tests.problems import assert_problem, pointers

POLICY = "/v1/billing/dunning-policy"
PREVIEW = f"{POLICY}/preview"


def default_doc(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = DEFAULT_POLICY.model_dump(mode="json", exclude_none=True)
    return doc | changes


def with_step(index: int, **changes: Any) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = default_doc()["steps"]
    steps[index] = steps[index] | changes
    return steps


async def signal_keys(db: AsyncSession, actor: Actor, signal: str) -> list[str]:
    await scope_to_firm(db, actor.firm.id)
    rows = await db.scalars(
        select(OutboxMessage.dedupe_key).where(
            OutboxMessage.firm_id == actor.firm.id,
            OutboxMessage.dedupe_key.like(f"signal:dunning-%:{signal}:%"),
        )
    )
    return sorted(rows)


async def test_default_policy_on_first_read(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    response = await client.get(POLICY, headers=owner.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["version"] == 1
    assert [(s["key"], s["offset_days"], s["kind"]) for s in body["steps"]] == [
        ("due-soon", -3, "reminder"),
        ("due-today", 0, "reminder"),
        ("overdue-3", 3, "reminder"),
        ("overdue-7", 7, "reminder"),
        ("overdue-14", 14, "reminder"),
        ("final-notice", 21, "final_notice"),
        ("escalation", 30, "escalation"),
    ]
    assert (body["late_fee_fixed"], body["late_fee_step"], body["endless_every_days"]) == (
        0,
        None,
        None,
    )
    again = await client.get(POLICY, headers=owner.headers)
    assert again.json() == body


async def test_replace_bumps_the_version_audits_and_signals_open_invoices(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    open_one = await make_invoice(db, owner)
    partly = await make_invoice(db, owner, status=InvoiceStatus.partially_paid)
    await make_invoice(db, owner, status=InvoiceStatus.draft)
    await make_invoice(db, owner, status=InvoiceStatus.void)

    doc = default_doc(late_fee_fixed=1500, late_fee_percent="1.5", late_fee_step="overdue-7")
    response = await client.put(POLICY, json=doc, headers=owner.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["version"], body["late_fee_fixed"], body["late_fee_percent"]) == (2, 1500, "1.5")
    assert body["late_fee_step"] == "overdue-7"

    assert await signal_keys(db, owner, "policy_changed") == sorted(
        f"signal:dunning-{i.id}:policy_changed:2" for i in (open_one, partly)
    )
    actions = await db.scalars(select(AuditEvent.action).where(AuditEvent.firm_id == owner.firm.id))
    assert "dunning_policy.updated" in list(actions)

    response = await client.put(POLICY, json=default_doc(enabled=False), headers=owner.headers)
    assert response.json()["version"] == 3


async def test_only_owner_and_admin_change_the_policy(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    admin = await add_user(db, owner, Role.admin)
    staff = await add_user(db, owner, Role.staff)
    builder = await add_user(db, owner, Role.builder)
    assert (await client.get(POLICY, headers=staff.headers)).status_code == 200
    assert_problem(await client.put(POLICY, json=default_doc(), headers=staff.headers), 403)
    assert_problem(await client.get(POLICY, headers=builder.headers), 403)
    assert (await client.put(POLICY, json=default_doc(), headers=admin.headers)).status_code == 200


@pytest.mark.parametrize(
    ("doc", "pointer"),
    [
        (default_doc(steps=with_step(1, key="due-soon")), "/steps/1/key"),
        (default_doc(steps=with_step(0, key="invoice")), "/steps/0/key"),
        (default_doc(steps=with_step(0, key="endless-1")), "/steps/0/key"),
        (default_doc(steps=with_step(0, key="Bad Key")), "/steps/0/key"),
        (default_doc(steps=with_step(2, offset_days=0)), "/steps/2/offset_days"),
        (default_doc(steps=with_step(2, offset_days="soon")), "/steps/2/offset_days"),
        (default_doc(steps=with_step(2, offset_days=400)), "/steps/2/offset_days"),
        (default_doc(steps=with_step(3, kind="escalation")), "/steps/3/kind"),
        (default_doc(steps=with_step(3, kind="letter")), "/steps/3/kind"),
        (default_doc(steps=with_step(6, subject="Pay")), "/steps/6/subject"),
        (default_doc(steps=with_step(2, subject=None)), "/steps/2/subject"),
        (default_doc(steps=with_step(2, body="  ")), "/steps/2/body"),
        (default_doc(steps=with_step(2, body="{{ invoice.number")), "/steps/2/body"),
        (default_doc(steps=with_step(2, body="{{ invoce.number }}")), "/steps/2/body"),
        (default_doc(steps=with_step(2, body="{% for x in y %}{% endfor %}")), "/steps/2/body"),
        (default_doc(steps=with_step(2, subject="{{ ''.__class__ }}")), "/steps/2/subject"),
        (default_doc(steps=with_step(2, extra=1)), "/steps/2/extra"),
        (default_doc(late_fee_fixed=100), "/late_fee_step"),
        (default_doc(late_fee_step="overdue-7"), "/late_fee_step"),
        (default_doc(late_fee_fixed=100, late_fee_step="nope"), "/late_fee_step"),
        (default_doc(late_fee_fixed=100, late_fee_step="escalation"), "/late_fee_step"),
        (default_doc(late_fee_fixed=-1), "/late_fee_fixed"),
        (default_doc(late_fee_percent="100.5"), "/late_fee_percent"),
        (default_doc(late_fee_percent="1.23456"), "/late_fee_percent"),
        (default_doc(endless_every_days=0), "/endless_every_days"),
        (
            default_doc(
                steps=[{"key": "esc", "kind": "escalation", "offset_days": 30}],
                endless_every_days=7,
            ),
            "/endless_every_days",
        ),
        (default_doc(steps=[default_doc()["steps"][0]] * 21), "/steps"),
        (default_doc(colour="red"), "/colour"),
    ],
)
async def test_invalid_policies_are_422_with_a_pointer(
    client: AsyncClient, db: AsyncSession, doc: dict[str, Any], pointer: str
) -> None:
    owner = await make_firm(db)
    body = assert_problem(await client.put(POLICY, json=doc, headers=owner.headers), 422)
    assert pointer in pointers(body)
    assert (await client.get(POLICY, headers=owner.headers)).json()["version"] == 1


async def test_preview_with_sample_data_and_with_an_invoice(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    sample = await client.post(PREVIEW, json={"step_key": "overdue-7"}, headers=owner.headers)
    assert sample.status_code == 200, sample.text
    assert sample.json()["subject"] == "Second reminder: invoice INV-2026-0042 is overdue"
    assert "7 days overdue" in sample.json()["body"]

    invoice = await make_invoice(db, owner, lines=((2, 12_345),), currency="EUR")
    edited = {
        "subject": "Invoice {{ invoice.number }}\n for {{ client.name }}",
        "body": "Owed: {{ invoice.balance }} - {{ pay_link }}",
        "invoice_id": str(invoice.id),
    }
    response = await client.post(PREVIEW, json=edited, headers=owner.headers)
    assert response.status_code == 200, response.text
    client_name = await client.get(f"/v1/clients/{invoice.client_id}", headers=owner.headers)
    assert response.json() == {
        "subject": f"Invoice {invoice.number} for {client_name.json()['name']}",
        "body": f"Owed: 246.90 EUR - http://127.0.0.1:8000/pay/{invoice.id}",
    }

    invoice_email = await client.post(PREVIEW, json={"step_key": "invoice"}, headers=owner.headers)
    assert invoice_email.json()["subject"] == "Invoice INV-2026-0042 from Your Firm"


async def test_preview_errors(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    other = await make_firm(db)
    foreign = await make_invoice(db, other)

    body = assert_problem(
        await client.post(PREVIEW, json={"body": "{{ 1 / 0 }}"}, headers=owner.headers), 422
    )
    assert pointers(body) == {"/body"}
    assert "division" not in body["detail"]
    body = assert_problem(
        await client.post(
            PREVIEW, json={"subject": "{{ x.__init__ }}", "body": "ok"}, headers=owner.headers
        ),
        422,
    )
    assert pointers(body) == {"/subject"}
    body = assert_problem(await client.post(PREVIEW, json={}, headers=owner.headers), 422)
    assert pointers(body) == {"/step_key"}
    body = assert_problem(
        await client.post(PREVIEW, json={"step_key": "escalation"}, headers=owner.headers), 422
    )
    assert pointers(body) == {"/step_key"}
    body = assert_problem(
        await client.post(
            PREVIEW,
            json={"step_key": "due-soon", "invoice_id": str(foreign.id)},
            headers=owner.headers,
        ),
        404,
    )
    assert pointers(body) == {"/invoice_id"}


async def test_pause_and_resume_an_invoice(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    staff = await add_user(db, owner, Role.staff)
    invoice = await make_invoice(db, owner)
    base = f"/v1/invoices/{invoice.id}/dunning"

    response = await client.post(f"{base}/pause", headers=staff.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"invoice_id": str(invoice.id), "dunning_paused": True}
    assert (await client.post(f"{base}/pause", headers=staff.headers)).status_code == 200
    assert len(await signal_keys(db, owner, "pause_changed")) == 1

    view = await client.get(base, headers=staff.headers)
    assert view.status_code == 200, view.text
    assert view.json() == {
        "invoice_id": str(invoice.id),
        "dunning_paused": True,
        "in_collections": False,
        "live": None,
        "reminders": [],
    }

    response = await client.post(f"{base}/resume", headers=staff.headers)
    assert response.json()["dunning_paused"] is False
    assert len(await signal_keys(db, owner, "pause_changed")) == 2
    await scope_to_firm(db, owner.firm.id)
    actions = await db.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.record_id == invoice.id)
        .order_by(AuditEvent.created_at)
    )
    assert list(actions) == ["invoice.dunning_paused", "invoice.dunning_resumed"]


async def test_pause_a_client_signals_each_open_invoice(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    customer = await make_client(db, owner)
    first = await make_invoice(db, owner, client_id=customer.id)
    second = await make_invoice(db, owner, client_id=customer.id)
    await make_invoice(db, owner, client_id=customer.id, status=InvoiceStatus.paid)
    await make_invoice(db, owner)

    response = await client.post(f"/v1/clients/{customer.id}/dunning/pause", headers=owner.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"client_id": str(customer.id), "dunning_paused": True}
    read = await client.get(f"/v1/clients/{customer.id}", headers=owner.headers)
    assert read.json()["dunning_paused"] is True
    keys = await signal_keys(db, owner, "pause_changed")
    assert sorted(key.split(":")[1] for key in keys) == sorted(
        f"dunning-{i.id}" for i in (first, second)
    )
    response = await client.post(f"/v1/clients/{customer.id}/dunning/resume", headers=owner.headers)
    assert response.json()["dunning_paused"] is False
    assert len(await signal_keys(db, owner, "pause_changed")) == 4


async def test_dunning_routes_forbid_and_hide_other_firms(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    other = await make_firm(db)
    builder = await add_user(db, owner, Role.builder)
    invoice = await make_invoice(db, other)
    customer = await make_client(db, other)
    for path in (
        f"/v1/invoices/{invoice.id}/dunning/pause",
        f"/v1/invoices/{invoice.id}/dunning/resume",
        f"/v1/clients/{customer.id}/dunning/pause",
        f"/v1/clients/{customer.id}/dunning/resume",
        f"/v1/invoices/{uuid.uuid4()}/dunning/pause",
    ):
        assert_problem(await client.post(path, headers=owner.headers), 404)
        assert_problem(await client.post(path, headers=builder.headers), 403)
    assert_problem(
        await client.get(f"/v1/invoices/{invoice.id}/dunning", headers=owner.headers), 404
    )
    assert_problem(
        await client.get(f"/v1/invoices/{invoice.id}/dunning", headers=builder.headers), 403
    )
    assert_problem(await client.get("/v1/invoices/not-a-uuid/dunning", headers=owner.headers), 422)
    mine = await make_invoice(db, owner)
    assert (await client.get(f"/v1/invoices/{mine.id}/dunning", headers=owner.headers)).json()[
        "dunning_paused"
    ] is False
