"""Payments and refunds: the split between invoice and client credit, the status an
invoice's money implies, provider idempotency (also under concurrency), refund limits,
events and audit; then the API with its 4xx paths and another firm's ids."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db import scope_to_firm, tenant_session
from core.errors import AppError, NotFound, Unprocessable
from core.principal import Principal
from models import (
    AuditEvent,
    Client,
    ClientCredit,
    Firm,
    Invoice,
    InvoiceStatus,
    OutboxMessage,
    Payment,
    PaymentMethod,
    Role,
)
from services.billing import credits, payments
from tests.billing_factories import make_client, make_invoice
from tests.factories import Actor, make_firm

TODAY = date(2026, 11, 20)


def first_pointer(error: AppError) -> str:
    assert error.errors
    return str(error.errors[0]["pointer"])


def owner(actor: Actor) -> Principal:
    return Principal(
        firm_id=actor.firm.id, user_id=actor.user.id, role=Role.owner, credential="session"
    )


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
        db, owner(actor), invoice_id=invoice.id, amount=amount, **fields
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
    return await credits.balance(db, owner(actor), client_id, currency)


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
        db, owner(actor), provider="stripe", provider_ref="pi_123"
    )
    assert found is not None and found.id == recorded[0].id
    assert (
        await payments.find_provider_payment(
            db, owner(actor), provider="stripe", provider_ref="pi_other"
        )
        is None
    )


@pytest.fixture
async def committed_owner(
    committing_sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[Actor]:
    async with committing_sessionmaker() as session:
        actor = await make_firm(session, "Concurrent payments")
    yield actor
    async with tenant_session(actor.firm.id, committing_sessionmaker) as session:
        await session.execute(delete(Firm).where(Firm.id == actor.firm.id))


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
            owner(actor),
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
            owner(beta),
            invoice_id=invoice.id,
            amount=1_000,
            currency="USD",
            method=PaymentMethod.cash,
            received_on=TODAY,
        )
    await scope_to_firm(db, beta.firm.id)
    with pytest.raises(NotFound):
        await payments.record_refund(db, owner(beta), payment_id=payment.id, amount=100)


# --- refunds ----------------------------------------------------------------------------


async def refund(
    db: AsyncSession, actor: Actor, payment: Payment, amount: int, **extra: Any
) -> Payment:
    await scope_to_firm(db, actor.firm.id)
    result = await payments.record_refund(
        db, owner(actor), payment_id=payment.id, amount=amount, **extra
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
    assert await payments.credit_shortfall(db, result) == 0
    invoice = await reload(db, actor, invoice)
    assert (invoice.status, invoice.balance) == ("open", 10_000)
    assert await credit_of(db, actor, invoice.client_id, "USD") == 1_000


async def test_refund_of_credit_already_spent_records_what_it_could(db: AsyncSession) -> None:
    actor = await make_firm(db)
    client = await make_client(db, actor)
    first = await make_invoice(db, actor, client_id=client.id, lines=((1, 5_000),))
    payment = await pay(db, actor, first, 8_000)
    # Another invoice's payment spends most of the 3,000 credit.
    await scope_to_firm(db, actor.firm.id)
    await credits.take_back(
        db,
        owner(actor),
        client_id=client.id,
        currency="USD",
        amount=2_500,
        payment_id=payment.id,
    )
    await db.commit()
    assert await credit_of(db, actor, client.id, "USD") == 500

    result = await refund(db, actor, payment, 8_000)

    assert (result.applied_amount, result.credited_amount) == (5_000, 3_000)
    assert await payments.credit_shortfall(db, result) == 2_500
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
        await payments.record_refund(db, owner(actor), payment_id=uuid.uuid4(), amount=1)


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
    assert await credits.balances(db, owner(actor), client.id) == {"EUR": 300, "USD": 700}
    assert await db.scalar(select(func.count()).select_from(Client)) == 1
