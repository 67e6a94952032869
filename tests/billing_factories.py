"""Billing test data: clients and invoices in a given state.

Invoices are built through the totals function and the ORM, so tests of one part of
billing (payments, Stripe, dunning) do not depend on the invoice routes."""

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from core.db import scope_to_firm
from core.principal import Principal
from models import Client, Invoice, InvoiceLine, InvoiceStatus
from services.billing.totals import LineInput, TaxSnapshot, compute_totals
from services.clients import create_client, validate_client_fields
from tests.factories import Actor


async def make_client(
    session: AsyncSession, actor: Actor, *, email: str | None = None, name: str | None = None
) -> Client:
    await scope_to_firm(session, actor.firm.id)
    suffix = uuid.uuid4().hex[:8]
    client = await create_client(
        session,
        Principal.system(actor.firm.id),
        fields=validate_client_fields(
            {
                "name": name or f"Client {suffix}",
                "email": email or f"billing-{suffix}@client-firm.example.com",
            }
        ),
    )
    await session.commit()
    return client


async def make_invoice(
    session: AsyncSession,
    actor: Actor,
    *,
    client_id: uuid.UUID | None = None,
    lines: Sequence[tuple[Decimal | int, int]] = ((1, 10_000),),
    taxes: Sequence[TaxSnapshot] = (),
    currency: str | None = None,
    status: InvoiceStatus = InvoiceStatus.open,
    issue_date: date | None = None,
    due_date: date | None = None,
) -> Invoice:
    """An invoice of ``actor``'s firm; each line is (quantity, unit price in minor units)
    with ``taxes`` on every line. A non-draft invoice gets a unique test number and, for
    open ones, ``sent_at``; nothing is paid."""
    await scope_to_firm(session, actor.firm.id)
    if client_id is None:
        client_id = (await make_client(session, actor)).id
        await scope_to_firm(session, actor.firm.id)
    inputs = [LineInput(Decimal(q), price, tuple(taxes)) for q, price in lines]
    totals = compute_totals(inputs)
    issued = issue_date or date.today()
    invoice = Invoice(
        firm_id=actor.firm.id,
        client_id=client_id,
        currency=currency or actor.firm.default_currency,
        status=status.value,
        number=None if status == InvoiceStatus.draft else f"TEST-{uuid.uuid4().hex[:10]}",
        issue_date=None if status == InvoiceStatus.draft else issued,
        due_date=due_date or issued + timedelta(days=30),
        subtotal=totals.subtotal,
        discount_total=totals.discount_total,
        tax_total=totals.tax_total,
        tax_exclusive_total=totals.tax_exclusive_total,
        late_fee=0,
        total=totals.total,
        amount_paid=0,
        amount_credited=0,
        balance=0 if status == InvoiceStatus.void else totals.total,
        tax_breakdown=totals.breakdown(),
        finalized_at=None if status == InvoiceStatus.draft else datetime.now(UTC),
        sent_at=datetime.now(UTC) if status == InvoiceStatus.open else None,
        created_by=actor.user.id,
    )
    session.add(invoice)
    await session.flush()
    for position, (line, line_totals) in enumerate(zip(inputs, totals.lines, strict=True)):
        session.add(
            InvoiceLine(
                firm_id=actor.firm.id,
                invoice_id=invoice.id,
                position=position,
                description=f"Line {position + 1}",
                quantity=line.quantity,
                unit_price=line.unit_price,
                taxes=[tax.as_json() for tax in line.taxes],
                amount=line_totals.amount,
                discount_amount=line_totals.discount_amount,
                tax_amount=line_totals.tax_amount,
            )
        )
    await session.commit()
    return invoice
