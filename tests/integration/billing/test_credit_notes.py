"""Credit notes: numbered with the credit note prefix when issued, they reduce what the
invoice owes (its status follows) and send what it cannot absorb to client credit; all
credit notes of an invoice together stay within its total; the 4xx paths."""

import uuid
from decimal import Decimal
from typing import Any

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import scope_to_firm
from core.roles import Role
from models import AuditEvent, ClientCredit, Invoice, InvoiceStatus, OutboxMessage
from services import firms
from tests.billing_factories import make_invoice
from tests.factories import Actor, add_user, make_firm, principal_of
from tests.integration.billing.test_payments import credit_of, events, post_payment, reload
from tests.problems import assert_problem, pointers


async def issue(http: AsyncClient, actor: Actor, invoice: Invoice, **body: Any) -> dict[str, Any]:
    response = await http.post(
        f"/v1/invoices/{invoice.id}/credit-notes", json=body, headers=actor.headers
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_amount_credit_note_reduces_the_balance(
    client: AsyncClient, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    invoice = await make_invoice(db, actor, lines=((1, 10_000),))
    year = (await firms.firm_today(db, principal_of(actor))).year

    note = await issue(client, actor, invoice, amount=2_500, notes="Discount agreed")

    assert note["kind"] == "credit_note" and note["status"] == "open"
    assert note["number"] == f"CN-{year}-0001"
    assert note["credited_invoice_id"] == str(invoice.id)
    assert (note["client_id"], note["currency"]) == (str(invoice.client_id), "USD")
    assert (note["total"], note["amount_credited"], note["balance"]) == (2_500, 2_500, 0)
    assert note["to_client_credit"] == 0 and note["notes"] == "Discount agreed"
    assert [(Decimal(line["quantity"]), line["unit_price"]) for line in note["lines"]] == [
        (Decimal(1), 2_500)
    ]
    assert note["lines"][0]["description"] == f"Credit for invoice {invoice.number}"
    invoice = await reload(db, actor, invoice)
    assert (invoice.status, invoice.amount_credited, invoice.balance) == (
        "partially_paid",
        2_500,
        7_500,
    )
    issued = await events(db, actor, "credit_note.issued")
    assert [(e["credit_note_id"], e["applied_to_invoice"]) for e in issued] == [(note["id"], 2_500)]
    await scope_to_firm(db, actor.firm.id)
    actions = set(
        await db.scalars(
            select(AuditEvent.action).where(
                AuditEvent.record_id.in_([invoice.id, uuid.UUID(note["id"])])
            )
        )
    )
    assert {"credit_note.issued", "invoice.credited", "invoice.finalized"} <= actions

    second = await issue(client, actor, invoice, amount=100)
    assert second["number"] == f"CN-{year}-0002"


async def test_lines_credit_note_beyond_the_balance_pays_and_credits_the_rest(
    client: AsyncClient, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    invoice = await make_invoice(db, actor, lines=((1, 10_000),))
    await post_payment(client, actor, invoice, amount=7_000)

    note = await issue(
        client,
        actor,
        invoice,
        lines=[{"description": "Returned hours", "quantity": "2.5", "unit_price": 2_000}],
    )

    assert note["total"] == 5_000 and note["to_client_credit"] == 2_000
    assert note["lines"][0]["description"] == "Returned hours"
    invoice = await reload(db, actor, invoice)
    assert (invoice.status, invoice.amount_paid, invoice.amount_credited, invoice.balance) == (
        "paid",
        7_000,
        3_000,
        0,
    )
    assert await credit_of(db, actor, invoice.client_id, "USD") == 2_000
    entry = await db.scalar(
        select(ClientCredit).where(ClientCredit.invoice_id == uuid.UUID(note["id"]))
    )
    assert entry is not None and (entry.reason, entry.amount) == ("credit_note", 2_000)
    paid = await events(db, actor, "invoice.paid")
    assert [e["invoice_id"] for e in paid] == [str(invoice.id)]
    await scope_to_firm(db, actor.firm.id)
    signal = await db.scalar(
        select(OutboxMessage.id).where(
            OutboxMessage.dedupe_key == f"signal:dunning-{invoice.id}:payment_received:{note['id']}"
        )
    )
    assert signal is not None


async def test_paid_invoice_credit_goes_to_the_client(
    client: AsyncClient, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    invoice = await make_invoice(db, actor, lines=((1, 4_000),))
    await post_payment(client, actor, invoice, amount=4_000)

    note = await issue(client, actor, invoice, amount=4_000)

    assert note["to_client_credit"] == 4_000
    invoice = await reload(db, actor, invoice)
    assert (invoice.status, invoice.amount_credited, invoice.balance) == ("paid", 0, 0)
    assert await credit_of(db, actor, invoice.client_id, "USD") == 4_000


async def test_written_off_invoice_credited_in_full_becomes_paid(
    client: AsyncClient, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    invoice = await make_invoice(db, actor, lines=((1, 3_000),), status=InvoiceStatus.uncollectible)

    await issue(client, actor, invoice, amount=3_000)

    assert (await reload(db, actor, invoice)).status == "paid"


async def test_credit_notes_together_stay_within_the_invoice_total(
    client: AsyncClient, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    invoice = await make_invoice(db, actor, lines=((1, 10_000),))
    url = f"/v1/invoices/{invoice.id}/credit-notes"
    await issue(client, actor, invoice, amount=6_000)

    over = await client.post(url, json={"amount": 4_001}, headers=actor.headers)
    assert pointers(assert_problem(over, 422)) == {"/amount"}
    over_lines = await client.post(
        url,
        json={"lines": [{"description": "x", "quantity": "1", "unit_price": 4_001}]},
        headers=actor.headers,
    )
    assert pointers(assert_problem(over_lines, 422)) == {"/lines"}
    rest = await issue(client, actor, invoice, amount=4_000)
    assert rest["total"] == 4_000
    invoice = await reload(db, actor, invoice)
    assert (invoice.status, invoice.balance, invoice.amount_credited) == ("paid", 0, 10_000)
    assert_problem(await client.post(url, json={"amount": 1}, headers=actor.headers), 422)


async def test_credit_note_4xx(client: AsyncClient, db: AsyncSession) -> None:
    actor = await make_firm(db)
    builder = await add_user(db, actor, Role.builder)
    other = await make_firm(db, "Other")
    invoice = await make_invoice(db, actor)
    void = await make_invoice(db, actor, status=InvoiceStatus.void)
    draft = await make_invoice(db, actor, status=InvoiceStatus.draft)
    url = f"/v1/invoices/{invoice.id}/credit-notes"

    assert_problem(await client.post(url, json={"amount": 100}), 401)
    assert_problem(await client.post(url, json={"amount": 100}, headers=builder.headers), 403)
    assert_problem(await client.post(url, json={"amount": 100}, headers=other.headers), 404)
    assert_problem(
        await client.post(
            f"/v1/invoices/{uuid.uuid4()}/credit-notes", json={"amount": 1}, headers=actor.headers
        ),
        404,
    )
    for target in (void, draft):
        response = await client.post(
            f"/v1/invoices/{target.id}/credit-notes", json={"amount": 100}, headers=actor.headers
        )
        assert pointers(assert_problem(response, 409)) == {"/status"}
    note = await issue(client, actor, invoice, amount=100)
    for action in ("void", "mark-uncollectible"):
        refused = await client.post(
            f"/v1/invoices/{note['id']}/{action}", json={}, headers=actor.headers
        )
        assert "credit note" in assert_problem(refused, 409)["detail"]
    of_note = await client.post(
        f"/v1/invoices/{note['id']}/credit-notes", json={"amount": 1}, headers=actor.headers
    )
    assert pointers(assert_problem(of_note, 422)) == {"/invoice_id"}
    line = {"description": "x", "quantity": "1", "unit_price": 100}
    both = await client.post(url, json={"amount": 100, "lines": [line]}, headers=actor.headers)
    assert pointers(assert_problem(both, 422)) == {"/lines"}
    neither = await client.post(url, json={}, headers=actor.headers)
    assert pointers(assert_problem(neither, 422)) == {"/lines"}
    zero_lines = await client.post(
        url, json={"lines": [{**line, "unit_price": 0}]}, headers=actor.headers
    )
    assert pointers(assert_problem(zero_lines, 422)) == {"/lines"}
    bad_bodies: list[dict[str, Any]] = [
        {"amount": 0},
        {"amount": -1},
        {"lines": []},
        {"lines": [{**line, "quantity": "-1"}]},
        {"lines": [{**line, "tax_rate_ids": ["nope"]}]},
        {"amount": 1, "extra": True},
    ]
    for bad in bad_bodies:
        assert_problem(await client.post(url, json=bad, headers=actor.headers), 422)
    unknown_rate = await client.post(
        url, json={"lines": [{**line, "tax_rate_ids": [str(uuid.uuid4())]}]}, headers=actor.headers
    )
    assert pointers(assert_problem(unknown_rate, 404)) == {"/lines/0/tax_rate_ids/0"}
    assert (await reload(db, actor, invoice)).amount_credited == 100
