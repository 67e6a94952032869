"""Payments and refunds: the split between invoice and client credit, the status an
invoice's money implies, provider idempotency (also under concurrency), refund limits,
events and audit; then the API with its 4xx paths and another firm's ids."""

import asyncio
import uuid
from datetime import date
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db import scope_to_firm, tenant_session
from core.errors import AppError, NotFound, Unprocessable
from core.principal import Principal
from core.roles import Role
from models import (
    AuditEvent,
    Client,
    ClientCredit,
    Invoice,
    InvoiceStatus,
    OutboxMessage,
    Payment,
    PaymentMethod,
)
from services import firms
from services.billing import credits, payments, refunds
from tests.billing_factories import make_client, make_invoice
from tests.factories import Actor, add_user, make_firm, principal_of
from tests.problems import assert_problem, pointers

TODAY = date(2026, 11, 20)


def first_pointer(error: AppError) -> str:
    assert error.errors
    return str(error.errors[0]["pointer"])


async def pay(
    db: AsyncSession, actor: Actor, invoice: Invoice, amount: int, **extra: Any
) -> Payment:
    await scope_to_firm(db, actor.firm.id)
    fields: dict[str, Any] = {
        "currency": invoice.currency,
        "method": PaymentMethod.bank_transfer,
        "received_on": TODAY,
        **extra,
    }
    payment = await payments.record_payment(
        db, principal_of(actor), invoice_id=invoice.id, amount=amount, **fields
    )
    await db.commit()
    return payment


async def reload(db: AsyncSession, actor: Actor, invoice: Invoice) -> Invoice:
    await scope_to_firm(db, actor.firm.id)
    fresh = await db.scalar(
        select(Invoice).where(Invoice.id == invoice.id).execution_options(populate_existing=True)
    )
    assert fresh is not None
    return fresh


async def credit_of(db: AsyncSession, actor: Actor, client_id: uuid.UUID, currency: str) -> int:
    await scope_to_firm(db, actor.firm.id)
    return await credits.balance(db, principal_of(actor), client_id, currency)


async def events(db: AsyncSession, actor: Actor, name: str) -> list[dict[str, Any]]:
    await scope_to_firm(db, actor.firm.id)
    rows = await db.scalars(
        select(OutboxMessage.payload)
        .where(OutboxMessage.firm_id == actor.firm.id, OutboxMessage.kind == "event")
        .order_by(OutboxMessage.created_at)
    )
    return [payload for payload in rows if payload["event"] == name]


async def signals(db: AsyncSession, actor: Actor, invoice: Invoice) -> list[str]:
    await scope_to_firm(db, actor.firm.id)
    rows = await db.scalars(
        select(OutboxMessage.dedupe_key).where(
            OutboxMessage.firm_id == actor.firm.id,
            OutboxMessage.kind == "signal_workflow",
            OutboxMessage.dedupe_key.like(f"signal:dunning-{invoice.id}:%"),
        )
    )
    return list(rows)


# --- the service: split, status, events -------------------------------------------------


async def test_partial_then_full_payment_moves_open_to_partially_paid_to_paid(
    db: AsyncSession,
) -> None:
    actor = await make_firm(db)
    invoice = await make_invoice(db, actor, lines=((1, 10_000),))

    first = await pay(db, actor, invoice, 4_000, reference="wire 1")
    assert (first.applied_amount, first.credited_amount) == (4_000, 0)
    assert first.invoice_id == invoice.id and first.client_id == invoice.client_id
    assert first.kind == "payment" and first.method == "bank_transfer"
    assert first.created_by == actor.user.id
    invoice = await reload(db, actor, invoice)
    assert (invoice.status, invoice.amount_paid, invoice.balance) == (
        "partially_paid",
        4_000,
        6_000,
    )
    assert await events(db, actor, "invoice.paid") == []

    second = await pay(db, actor, invoice, 6_000)
    invoice = await reload(db, actor, invoice)
    assert (invoice.status, invoice.amount_paid, invoice.balance) == ("paid", 10_000, 0)
    assert invoice.paid_at is not None
    received = await events(db, actor, "payment.received")
    assert [e["payment_id"] for e in received] == [str(first.id), str(second.id)]
    assert received[1]["applied_amount"] == 6_000 and received[1]["currency"] == "USD"
    paid = await events(db, actor, "invoice.paid")
    assert [e["invoice_id"] for e in paid] == [str(invoice.id)]
    assert sorted(await signals(db, actor, invoice)) == sorted(
        f"signal:dunning-{invoice.id}:payment_received:{p.id}" for p in (first, second)
    )
    await scope_to_firm(db, actor.firm.id)
    actions = list(
        await db.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.record_id.in_([first.id, second.id, invoice.id]))
            .order_by(AuditEvent.created_at)
        )
    )
    assert actions.count("payment.recorded") == 2
    assert actions.count("invoice.payment_applied") == 2
    assert await credit_of(db, actor, invoice.client_id, "USD") == 0


async def test_overpayment_becomes_client_credit(db: AsyncSession) -> None:
    actor = await make_firm(db)
    invoice = await make_invoice(db, actor, lines=((1, 10_000),))

    payment = await pay(db, actor, invoice, 12_500)

    assert (payment.applied_amount, payment.credited_amount) == (10_000, 2_500)
    invoice = await reload(db, actor, invoice)
    assert (invoice.status, invoice.balance) == ("paid", 0)
    assert await credit_of(db, actor, invoice.client_id, "USD") == 2_500
    entry = await db.scalar(select(ClientCredit).where(ClientCredit.payment_id == payment.id))
    assert entry is not None
    assert (entry.reason, entry.amount, entry.invoice_id) == ("overpayment", 2_500, invoice.id)


@pytest.mark.parametrize("status", [InvoiceStatus.void, InvoiceStatus.paid])
async def test_payment_on_a_closed_invoice_all_becomes_credit(
    db: AsyncSession, status: InvoiceStatus
) -> None:
    actor = await make_firm(db)
    invoice = await make_invoice(db, actor, lines=((1, 10_000),), status=status)
    if status == InvoiceStatus.paid:
        await scope_to_firm(db, actor.firm.id)
        invoice = await reload(db, actor, invoice)
        invoice.amount_paid, invoice.balance = invoice.total, 0
        await db.commit()

    payment = await pay(db, actor, invoice, 3_000)

    assert (payment.applied_amount, payment.credited_amount) == (0, 3_000)
    # Nothing reached the invoice: the payment belongs to the client's credit alone.
    assert payment.invoice_id is None
    after = await reload(db, actor, invoice)
    assert after.status == status.value
    assert await credit_of(db, actor, invoice.client_id, "USD") == 3_000
    entry = await db.scalar(select(ClientCredit).where(ClientCredit.payment_id == payment.id))
    assert entry is not None
    assert (entry.reason, entry.invoice_id) == ("payment_on_closed_invoice", invoice.id)
    assert await events(db, actor, "invoice.paid") == []
    assert [e["credited_amount"] for e in await events(db, actor, "payment.received")] == [3_000]


async def test_uncollectible_invoice_paid_in_full_becomes_paid(db: AsyncSession) -> None:
    actor = await make_firm(db)
    invoice = await make_invoice(db, actor, status=InvoiceStatus.uncollectible)

    await pay(db, actor, invoice, 4_000)
    assert (await reload(db, actor, invoice)).status == "uncollectible"
    await pay(db, actor, invoice, 6_000)
    assert (await reload(db, actor, invoice)).status == "paid"


async def test_provider_payment_on_a_draft_becomes_credit_and_manual_is_refused(
    db: AsyncSession,
) -> None:
    actor = await make_firm(db)
    draft = await make_invoice(db, actor, status=InvoiceStatus.draft)

    with pytest.raises(Unprocessable) as refused:
        await pay(db, actor, draft, 1_000)
    assert refused.value.errors == [{"pointer": "/invoice_id", "detail": "the invoice is a draft"}]

    payment = await pay(db, actor, draft, 1_000, provider="stripe", provider_ref="pi_draft")
    assert (payment.applied_amount, payment.credited_amount) == (0, 1_000)
    assert (await reload(db, actor, draft)).status == "draft"
    assert await credit_of(db, actor, draft.client_id, "USD") == 1_000


async def test_duplicate_provider_payment_five_times_is_one_row(db: AsyncSession) -> None:
    actor = await make_firm(db)
    invoice = await make_invoice(db, actor, lines=((1, 10_000),))

    recorded = [
        await pay(
            db,
            actor,
            invoice,
            2_000,
            method=PaymentMethod.card,
            provider="stripe",
            provider_ref="pi_123",
        )
        for _ in range(5)
    ]

    assert {p.id for p in recorded} == {recorded[0].id}
    await scope_to_firm(db, actor.firm.id)
    assert await db.scalar(select(func.count()).select_from(Payment)) == 1
    invoice = await reload(db, actor, invoice)
    assert (invoice.amount_paid, invoice.balance) == (2_000, 8_000)
    assert len(await events(db, actor, "payment.received")) == 1
    found = await payments.find_provider_payment(
        db, principal_of(actor), provider="stripe", provider_ref="pi_123"
    )
    assert found is not None and found.id == recorded[0].id
    assert (
        await payments.find_provider_payment(
            db, principal_of(actor), provider="stripe", provider_ref="pi_other"
        )
        is None
    )


async def test_concurrent_reports_of_one_provider_payment_record_it_once(
    committing_sessionmaker: async_sessionmaker[AsyncSession], committed_owner: Actor
) -> None:
    actor = committed_owner
    async with committing_sessionmaker() as setup:
        invoice = await make_invoice(setup, actor, lines=((1, 10_000),))
    principal = Principal.system(actor.firm.id)

    async def report() -> uuid.UUID:
        async with tenant_session(actor.firm.id, committing_sessionmaker) as session:
            payment = await payments.record_payment(
                session,
                principal,
                invoice_id=invoice.id,
                amount=3_000,
                currency="USD",
                method=PaymentMethod.card,
                received_on=TODAY,
                provider="stripe",
                provider_ref="pi_concurrent",
            )
            return payment.id

    ids = await asyncio.gather(*(report() for _ in range(5)))

    assert len(set(ids)) == 1
    async with tenant_session(actor.firm.id, committing_sessionmaker) as session:
        assert await session.scalar(select(func.count()).select_from(Payment)) == 1
        stored = await session.get(Invoice, invoice.id)
        assert stored is not None
        assert (stored.amount_paid, stored.balance) == (3_000, 7_000)


async def test_concurrent_credit_spends_never_overdraw(
    committing_sessionmaker: async_sessionmaker[AsyncSession], committed_owner: Actor
) -> None:
    actor = committed_owner
    async with committing_sessionmaker() as setup:
        customer = await make_client(setup, actor)
        void = await make_invoice(setup, actor, client_id=customer.id, status=InvoiceStatus.void)
        owed = [
            await make_invoice(setup, actor, client_id=customer.id, lines=((1, 1_000),))
            for _ in range(4)
        ]
    principal = Principal.system(actor.firm.id)
    async with tenant_session(actor.firm.id, committing_sessionmaker) as session:
        await payments.record_payment(
            session,
            principal,
            invoice_id=void.id,
            amount=1_500,
            currency="USD",
            method=PaymentMethod.cash,
            received_on=TODAY,
        )

    async def spend(invoice: Invoice) -> int:
        try:
            async with tenant_session(actor.firm.id, committing_sessionmaker) as session:
                payment = await payments.apply_credit(
                    session, principal, invoice_id=invoice.id, amount=None
                )
                return payment.amount
        except Unprocessable:
            return 0

    spent = await asyncio.gather(*(spend(invoice) for invoice in owed))

    assert sorted(spent) == [0, 0, 500, 1_000]
    async with tenant_session(actor.firm.id, committing_sessionmaker) as session:
        assert await credits.balance(session, principal, customer.id, "USD") == 0


async def test_payment_validation(db: AsyncSession) -> None:
    actor = await make_firm(db)
    invoice = await make_invoice(db, actor, currency="EUR")

    with pytest.raises(Unprocessable) as wrong_currency:
        await pay(db, actor, invoice, 1_000, currency="USD")
    assert wrong_currency.value.errors == [{"pointer": "/currency", "detail": "must be EUR"}]
    for amount in (0, -5):
        with pytest.raises(Unprocessable) as bad_amount:
            await pay(db, actor, invoice, amount)
        assert first_pointer(bad_amount.value) == "/amount"
    with pytest.raises(Unprocessable) as half_provider:
        await pay(db, actor, invoice, 1_000, provider="stripe")
    assert first_pointer(half_provider.value) == "/provider_ref"
    with pytest.raises(NotFound):
        await payments.record_payment(
            db,
            principal_of(actor),
            invoice_id=uuid.uuid4(),
            amount=1_000,
            currency="EUR",
            method=PaymentMethod.cash,
            received_on=TODAY,
        )
    assert (await reload(db, actor, invoice)).balance == invoice.total


async def test_another_firms_invoice_and_payment_are_not_found(db: AsyncSession) -> None:
    alpha = await make_firm(db)
    beta = await make_firm(db, "Beta")
    invoice = await make_invoice(db, alpha)
    payment = await pay(db, alpha, invoice, 1_000)

    await scope_to_firm(db, beta.firm.id)
    with pytest.raises(NotFound):
        await payments.record_payment(
            db,
            principal_of(beta),
            invoice_id=invoice.id,
            amount=1_000,
            currency="USD",
            method=PaymentMethod.cash,
            received_on=TODAY,
        )
    await scope_to_firm(db, beta.firm.id)
    with pytest.raises(NotFound):
        await refunds.record_refund(db, principal_of(beta), payment_id=payment.id, amount=100)


# --- refunds ----------------------------------------------------------------------------


async def refund(
    db: AsyncSession, actor: Actor, payment: Payment, amount: int, **extra: Any
) -> Payment:
    await scope_to_firm(db, actor.firm.id)
    result = await refunds.record_refund(
        db, principal_of(actor), payment_id=payment.id, amount=amount, **extra
    )
    await db.commit()
    return result


async def test_refund_reopens_a_paid_invoice_step_by_step(db: AsyncSession) -> None:
    actor = await make_firm(db)
    invoice = await make_invoice(db, actor, lines=((1, 10_000),))
    payment = await pay(db, actor, invoice, 10_000)

    first = await refund(db, actor, payment, 3_000, reason="goodwill")
    assert (first.kind, first.refund_of_id, first.amount) == ("refund", payment.id, 3_000)
    assert (first.applied_amount, first.credited_amount) == (3_000, 0)
    assert first.notes == "goodwill"
    invoice = await reload(db, actor, invoice)
    assert (invoice.status, invoice.amount_paid, invoice.balance) == (
        "partially_paid",
        7_000,
        3_000,
    )
    assert invoice.paid_at is None

    await refund(db, actor, payment, 7_000)
    invoice = await reload(db, actor, invoice)
    assert (invoice.status, invoice.amount_paid, invoice.balance) == ("open", 0, 10_000)
    refunded = await events(db, actor, "payment.refunded")
    assert [e["amount"] for e in refunded] == [3_000, 7_000]

    with pytest.raises(Unprocessable) as nothing_left:
        await refund(db, actor, payment, 1)
    assert nothing_left.value.errors == [{"pointer": "/amount", "detail": "must be at most 0"}]


async def test_refund_takes_from_the_invoice_first_then_from_credit(db: AsyncSession) -> None:
    actor = await make_firm(db)
    invoice = await make_invoice(db, actor, lines=((1, 10_000),))
    payment = await pay(db, actor, invoice, 12_000)
    assert await credit_of(db, actor, invoice.client_id, "USD") == 2_000

    with pytest.raises(Unprocessable) as too_much:
        await refund(db, actor, payment, 12_001)
    assert too_much.value.errors == [{"pointer": "/amount", "detail": "must be at most 12000"}]

    result = await refund(db, actor, payment, 11_000)

    assert (result.applied_amount, result.credited_amount) == (10_000, 1_000)
    assert await refunds.credit_shortfall(db, result) == 0
    invoice = await reload(db, actor, invoice)
    assert (invoice.status, invoice.balance) == ("open", 10_000)
    assert await credit_of(db, actor, invoice.client_id, "USD") == 1_000


async def test_refund_of_credit_already_spent_records_what_it_could(db: AsyncSession) -> None:
    actor = await make_firm(db)
    client = await make_client(db, actor)
    first = await make_invoice(db, actor, client_id=client.id, lines=((1, 5_000),))
    payment = await pay(db, actor, first, 8_000)
    # Another invoice spends most of the 3,000 credit.
    second = await make_invoice(db, actor, client_id=client.id, lines=((1, 2_500),))
    await scope_to_firm(db, actor.firm.id)
    await payments.apply_credit(db, principal_of(actor), invoice_id=second.id, amount=None)
    await db.commit()
    assert (await reload(db, actor, second)).status == "paid"
    assert await credit_of(db, actor, client.id, "USD") == 500

    result = await refund(db, actor, payment, 8_000)

    assert (result.applied_amount, result.credited_amount) == (5_000, 3_000)
    assert await refunds.credit_shortfall(db, result) == 2_500
    assert await credit_of(db, actor, client.id, "USD") == 0
    refunded = await events(db, actor, "payment.refunded")
    assert refunded[0]["credit_shortfall"] == 2_500


async def test_refund_of_a_credit_only_payment_touches_no_invoice(db: AsyncSession) -> None:
    actor = await make_firm(db)
    invoice = await make_invoice(db, actor, status=InvoiceStatus.void)
    payment = await pay(db, actor, invoice, 4_000)

    result = await refund(db, actor, payment, 4_000)

    assert (result.applied_amount, result.credited_amount, result.invoice_id) == (0, 4_000, None)
    assert await credit_of(db, actor, invoice.client_id, "USD") == 0
    assert (await reload(db, actor, invoice)).status == "void"


async def test_provider_refund_is_idempotent_and_a_refund_is_not_refundable(
    db: AsyncSession,
) -> None:
    actor = await make_firm(db)
    invoice = await make_invoice(db, actor, lines=((1, 10_000),))
    payment = await pay(db, actor, invoice, 10_000, provider="stripe", provider_ref="pi_1")

    refunds = [
        await refund(db, actor, payment, 2_000, provider="stripe", provider_ref="re_1")
        for _ in range(5)
    ]

    assert {r.id for r in refunds} == {refunds[0].id}
    invoice = await reload(db, actor, invoice)
    assert (invoice.amount_paid, invoice.balance) == (8_000, 2_000)
    with pytest.raises(Unprocessable) as of_refund:
        await refund(db, actor, refunds[0], 100)
    assert first_pointer(of_refund.value) == "/payment_id"


async def test_refund_validation(db: AsyncSession) -> None:
    actor = await make_firm(db)
    invoice = await make_invoice(db, actor)
    payment = await pay(db, actor, invoice, 1_000)

    with pytest.raises(Unprocessable) as zero:
        await refund(db, actor, payment, 0)
    assert first_pointer(zero.value) == "/amount"
    await scope_to_firm(db, actor.firm.id)
    with pytest.raises(NotFound):
        await refunds.record_refund(db, principal_of(actor), payment_id=uuid.uuid4(), amount=1)


async def test_client_credit_balance_is_per_currency(db: AsyncSession) -> None:
    actor = await make_firm(db)
    client = await make_client(db, actor)
    usd = await make_invoice(db, actor, client_id=client.id, status=InvoiceStatus.void)
    eur = await make_invoice(
        db, actor, client_id=client.id, currency="EUR", status=InvoiceStatus.void
    )
    await pay(db, actor, usd, 700)
    await pay(db, actor, eur, 300)

    await scope_to_firm(db, actor.firm.id)
    assert await credits.balances(db, principal_of(actor), client.id) == {"EUR": 300, "USD": 700}
    assert await db.scalar(select(func.count()).select_from(Client)) == 1


# --- the API ----------------------------------------------------------------------------


async def post_payment(
    http: AsyncClient, actor: Actor, invoice: Invoice, **body: Any
) -> dict[str, Any]:
    response = await http.post(
        f"/v1/invoices/{invoice.id}/payments",
        json={"amount": 1_000, "currency": "USD", "method": "bank_transfer", **body},
        headers=actor.headers,
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_api_records_lists_gets_and_refunds_payments(
    client: AsyncClient, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    staff = await add_user(db, actor, Role.staff)
    invoice = await make_invoice(db, actor, lines=((1, 10_000),))
    other = await make_invoice(db, actor)

    first = await post_payment(
        client, actor, invoice, amount=4_000, received_on="2026-11-02", reference="WIRE-77"
    )
    assert first["invoice_id"] == str(invoice.id) and first["kind"] == "payment"
    assert (first["applied_amount"], first["credited_amount"]) == (4_000, 0)
    assert (first["received_on"], first["reference"]) == ("2026-11-02", "WIRE-77")
    second = await post_payment(client, actor, invoice, amount=7_000, method="cash")
    assert (second["applied_amount"], second["credited_amount"]) == (6_000, 1_000)
    assert second["received_on"] == (await firms.firm_today(db, principal_of(actor))).isoformat()
    third = await post_payment(client, actor, other, amount=500, method="check")

    listed = await client.get("/v1/payments", params={"limit": 2}, headers=staff.headers)
    assert listed.status_code == 200
    assert [p["id"] for p in listed.json()["items"]] == [third["id"], second["id"]]
    rest = await client.get(
        "/v1/payments",
        params={"limit": 2, "cursor": listed.json()["next_cursor"]},
        headers=staff.headers,
    )
    assert [p["id"] for p in rest.json()["items"]] == [first["id"]]
    assert rest.json()["next_cursor"] is None
    by_invoice = await client.get(
        "/v1/payments", params={"invoice_id": str(invoice.id)}, headers=actor.headers
    )
    assert {p["id"] for p in by_invoice.json()["items"]} == {first["id"], second["id"]}
    by_client = await client.get(
        "/v1/payments", params={"client_id": str(other.client_id)}, headers=actor.headers
    )
    assert [p["id"] for p in by_client.json()["items"]] == [third["id"]]

    got = await client.get(f"/v1/payments/{first['id']}", headers=staff.headers)
    assert got.status_code == 200 and got.json() == first

    refunded = await client.post(
        f"/v1/payments/{second['id']}/refunds",
        json={"amount": 6_500, "reason": "double payment"},
        headers=staff.headers,
    )
    assert refunded.status_code == 201, refunded.text
    body = refunded.json()
    assert (body["kind"], body["refund_of_id"], body["amount"]) == ("refund", second["id"], 6_500)
    assert (body["applied_amount"], body["credited_amount"]) == (6_000, 500)
    assert body["credit_shortfall"] == 0 and body["notes"] == "double payment"
    newest = await client.get("/v1/payments", params={"limit": 1}, headers=actor.headers)
    assert [p["id"] for p in newest.json()["items"]] == [body["id"]]
    invoice = await reload(db, actor, invoice)
    assert (invoice.status, invoice.balance) == ("partially_paid", 6_000)

    credit = await client.get(f"/v1/clients/{invoice.client_id}/credit", headers=staff.headers)
    assert credit.status_code == 200
    assert credit.json() == {
        "client_id": str(invoice.client_id),
        "balances": [{"currency": "USD", "amount": 500}],
    }


async def test_api_idempotency_key_replays_the_first_payment(
    client: AsyncClient, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    invoice = await make_invoice(db, actor, lines=((1, 10_000),))
    headers = {**actor.headers, "Idempotency-Key": "pay-once"}
    body = {"amount": 2_000, "currency": "USD", "method": "bank_transfer"}

    first = await client.post(f"/v1/invoices/{invoice.id}/payments", json=body, headers=headers)
    again = await client.post(f"/v1/invoices/{invoice.id}/payments", json=body, headers=headers)

    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert (await reload(db, actor, invoice)).amount_paid == 2_000


async def test_api_apply_credit(client: AsyncClient, db: AsyncSession) -> None:
    actor = await make_firm(db)
    client_row = await make_client(db, actor)
    closed = await make_invoice(db, actor, client_id=client_row.id, status=InvoiceStatus.void)
    owed = await make_invoice(db, actor, client_id=client_row.id, lines=((1, 5_000),))
    await post_payment(client, actor, closed, amount=3_000)

    too_much = await client.post(
        f"/v1/invoices/{owed.id}/apply-credit", json={"amount": 3_001}, headers=actor.headers
    )
    assert pointers(assert_problem(too_much, 422)) == {"/amount"}
    part = await client.post(
        f"/v1/invoices/{owed.id}/apply-credit", json={"amount": 1_000}, headers=actor.headers
    )
    assert part.status_code == 201, part.text
    assert (part.json()["method"], part.json()["applied_amount"]) == ("credit", 1_000)
    rest = await client.post(f"/v1/invoices/{owed.id}/apply-credit", json={}, headers=actor.headers)
    assert rest.status_code == 201 and rest.json()["amount"] == 2_000
    owed = await reload(db, actor, owed)
    assert (owed.status, owed.amount_paid, owed.balance) == ("partially_paid", 3_000, 2_000)
    assert await credit_of(db, actor, client_row.id, "USD") == 0

    none_left = await client.post(
        f"/v1/invoices/{owed.id}/apply-credit", json={}, headers=actor.headers
    )
    assert pointers(assert_problem(none_left, 422)) == {"/amount"}
    on_void = await client.post(
        f"/v1/invoices/{closed.id}/apply-credit", json={}, headers=actor.headers
    )
    assert pointers(assert_problem(on_void, 409)) == {"/status"}
    refund_credit = await client.post(
        f"/v1/payments/{part.json()['id']}/refunds", json={"amount": 1}, headers=actor.headers
    )
    assert pointers(assert_problem(refund_credit, 422)) == {"/payment_id"}


async def test_api_4xx(client: AsyncClient, db: AsyncSession) -> None:
    actor = await make_firm(db)
    builder = await add_user(db, actor, Role.builder)
    invoice = await make_invoice(db, actor, currency="EUR", lines=((1, 1_000),))
    draft = await make_invoice(db, actor, status=InvoiceStatus.draft)
    url = f"/v1/invoices/{invoice.id}/payments"
    good = {"amount": 100, "currency": "EUR", "method": "cash"}

    unauthenticated = await client.post(url, json=good)
    assert_problem(unauthenticated, 401)
    assert_problem(await client.post(url, json=good, headers=builder.headers), 403)
    assert_problem(await client.get("/v1/payments", headers=builder.headers), 403)

    wrong_currency = await client.post(url, json={**good, "currency": "USD"}, headers=actor.headers)
    assert pointers(assert_problem(wrong_currency, 422)) == {"/currency"}
    for bad in (
        {**good, "amount": 0},
        {**good, "amount": -1},
        {**good, "amount": "ten"},
        {**good, "method": "card"},
        {**good, "method": "credit"},
        {**good, "currency": "eur"},
        {**good, "received_on": "yesterday"},
        {**good, "extra": 1},
        {key: value for key, value in good.items() if key != "amount"},
    ):
        assert_problem(await client.post(url, json=bad, headers=actor.headers), 422)
    on_draft = await client.post(
        f"/v1/invoices/{draft.id}/payments",
        json={**good, "currency": "USD"},
        headers=actor.headers,
    )
    assert pointers(assert_problem(on_draft, 422)) == {"/invoice_id"}
    assert_problem(
        await client.post(
            f"/v1/invoices/{uuid.uuid4()}/payments", json=good, headers=actor.headers
        ),
        404,
    )
    assert_problem(
        await client.post("/v1/invoices/nope/payments", json=good, headers=actor.headers), 422
    )

    payment = await post_payment(client, actor, invoice, amount=600, currency="EUR")
    refunds = f"/v1/payments/{payment['id']}/refunds"
    over = await client.post(refunds, json={"amount": 601}, headers=actor.headers)
    assert pointers(assert_problem(over, 422)) == {"/amount"}
    assert_problem(await client.post(refunds, json={"amount": 0}, headers=actor.headers), 422)
    assert_problem(await client.post(refunds, json={}, headers=actor.headers), 422)
    assert_problem(
        await client.post(
            f"/v1/payments/{uuid.uuid4()}/refunds", json={"amount": 1}, headers=actor.headers
        ),
        404,
    )
    assert_problem(await client.get(f"/v1/payments/{uuid.uuid4()}", headers=actor.headers), 404)
    assert_problem(
        await client.get("/v1/payments", params={"limit": 0}, headers=actor.headers), 422
    )
    assert_problem(
        await client.get("/v1/payments", params={"cursor": "garbage"}, headers=actor.headers), 400
    )
    assert_problem(
        await client.get("/v1/payments", params={"client_id": "x"}, headers=actor.headers), 422
    )
    assert_problem(
        await client.get(f"/v1/clients/{uuid.uuid4()}/credit", headers=actor.headers), 404
    )
    assert_problem(
        await client.post(
            f"/v1/invoices/{uuid.uuid4()}/apply-credit", json={}, headers=actor.headers
        ),
        404,
    )


async def test_api_another_firms_ids_are_404(client: AsyncClient, db: AsyncSession) -> None:
    alpha = await make_firm(db)
    beta = await make_firm(db, "Beta")
    invoice = await make_invoice(db, alpha)
    payment = await post_payment(client, alpha, invoice, amount=500)
    body = {"amount": 100, "currency": "USD", "method": "cash"}

    for response in (
        await client.post(f"/v1/invoices/{invoice.id}/payments", json=body, headers=beta.headers),
        await client.post(f"/v1/invoices/{invoice.id}/apply-credit", json={}, headers=beta.headers),
        await client.get(f"/v1/payments/{payment['id']}", headers=beta.headers),
        await client.post(
            f"/v1/payments/{payment['id']}/refunds", json={"amount": 1}, headers=beta.headers
        ),
        await client.get(f"/v1/clients/{invoice.client_id}/credit", headers=beta.headers),
    ):
        assert_problem(response, 404)
    listed = await client.get(
        "/v1/payments", params={"invoice_id": str(invoice.id)}, headers=beta.headers
    )
    assert listed.json()["items"] == []
    assert (await reload(db, alpha, invoice)).amount_paid == 500
