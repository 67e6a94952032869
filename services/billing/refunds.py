"""Money paid back: refunds of payments, and what is left to refund.

A refund takes first from what the payment applied to its invoice (the invoice owes that
again), then from what became client credit. It locks the invoice like a payment does, and
the refunded payment's own row, so what is left cannot be refunded twice."""

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import Unprocessable
from core.principal import Principal
from models import Payment, PaymentKind, PaymentMethod
from services import audit, firms
from services.billing import credits, invoices, payments
from services.billing.dunning_outbox import signal_dunning
from services.billing.invoice_status import invoice_money, move, settled_status
from services.billing.repository import PAYMENTS
from services.outbox import writer as outbox
from workflows.billing.dunning import contracts as dunning


@dataclass(frozen=True)
class Refundable:
    """What is left to refund of a payment: from the invoice, and from client credit."""

    applied: int
    credited: int

    @property
    def total(self) -> int:
        return self.applied + self.credited


async def refundable(session: AsyncSession, payment: Payment) -> Refundable:
    row = (
        await session.execute(
            select(
                func.coalesce(func.sum(Payment.applied_amount), 0),
                func.coalesce(func.sum(Payment.credited_amount), 0),
            ).where(PAYMENTS.owned_by(payment.firm_id), Payment.refund_of_id == payment.id)
        )
    ).one()
    return Refundable(
        applied=payment.applied_amount - int(row[0]),
        credited=payment.credited_amount - int(row[1]),
    )


async def record_refund(
    session: AsyncSession,
    principal: Principal,
    *,
    payment_id: uuid.UUID,
    amount: int,
    reason: str | None = None,
    provider: str | None = None,
    provider_ref: str | None = None,
    refunded_on: date | None = None,
) -> Payment:
    """Record money paid back on a payment, on ``refunded_on`` (default: today in the
    firm's time zone). It comes first out of what the payment applied
    to its invoice (the invoice owes that again: paid goes back to partially paid or
    open), then out of what became client credit. Credit already spent cannot be taken
    back: the refund records what it could, and ``credit_shortfall`` tells how much it
    could not. Reporting the same provider refund again returns the first row."""
    original = await payments.get_payment(session, principal, payment_id)
    payments.check_provider(provider, provider_ref)
    payments.check_amount(amount)
    invoice = (
        await invoices.get_invoice(session, principal, original.invoice_id, lock=True)
        if original.invoice_id is not None
        else None
    )
    # Refunds of one payment serialise on its row, so "what is left" cannot be spent twice.
    original = await payments.get_payment(session, principal, payment_id, lock=True)
    if provider is not None and provider_ref is not None:
        existing = await payments.find_provider_payment(
            session, principal, provider=provider, provider_ref=provider_ref
        )
        if existing is not None:
            return existing
    if original.kind != PaymentKind.payment:
        raise Unprocessable(
            "Only a payment can be refunded, not a refund",
            errors=[{"pointer": "/payment_id", "detail": "this is a refund"}],
        )
    if original.method == PaymentMethod.credit:
        raise Unprocessable(
            "Credit applied to an invoice is not money to pay back; refund the payment "
            "the credit came from",
            errors=[{"pointer": "/payment_id", "detail": "paid with client credit"}],
        )
    left = await refundable(session, original)
    if amount > left.total:
        raise Unprocessable(
            f"At most {left.total} of this payment is left to refund",
            errors=[{"pointer": "/amount", "detail": f"must be at most {left.total}"}],
        )
    from_invoice = min(amount, left.applied)
    from_credit = amount - from_invoice
    refund = await payments.insert_payment(
        session,
        {
            "firm_id": principal.firm_id,
            "client_id": original.client_id,
            "invoice_id": original.invoice_id if from_invoice > 0 else None,
            "kind": PaymentKind.refund,
            "refund_of_id": original.id,
            "amount": amount,
            "currency": original.currency,
            "applied_amount": from_invoice,
            "credited_amount": from_credit,
            "method": original.method,
            "received_on": refunded_on or await firms.firm_today(session, principal),
            "notes": reason,
            "provider": provider,
            "provider_ref": provider_ref,
            "created_by": principal.user_id,
        },
    )
    if refund is None:
        return await payments.provider_duplicate(session, principal, provider, provider_ref)
    taken = 0
    if from_credit > 0:
        taken = await credits.take_back(
            session,
            principal,
            client_id=original.client_id,
            currency=original.currency,
            amount=from_credit,
            payment_id=refund.id,
        )
    before: dict[str, Any] | None = None
    if invoice is not None and from_invoice > 0:
        before = invoice_money(invoice)
        invoice.amount_paid -= from_invoice
        invoice.balance += from_invoice
        move(invoice, settled_status(invoice), at=datetime.now(UTC))
    await session.flush()
    await audit.record(
        session,
        principal,
        action="payment.refunded",
        record_type="payment",
        record_id=refund.id,
        after={**payments.summarize(refund), "credit_shortfall": from_credit - taken},
    )
    if invoice is not None and before is not None:
        await audit.record(
            session,
            principal,
            action="invoice.payment_refunded",
            record_type="invoice",
            record_id=invoice.id,
            before=before,
            after=invoice_money(invoice),
        )
    await outbox.enqueue_message(
        session,
        principal.firm_id,
        outbox.event(
            "payment.refunded",
            f"payment.refunded:{refund.id}",
            refund_id=str(refund.id),
            payment_id=str(original.id),
            invoice_id=str(original.invoice_id) if original.invoice_id else None,
            client_id=str(original.client_id),
            amount=amount,
            currency=original.currency,
            credit_shortfall=from_credit - taken,
        ),
    )
    if invoice is not None and from_invoice > 0:
        await signal_dunning(
            session,
            principal.firm_id,
            invoice.id,
            dunning.PAYMENT_RECEIVED_SIGNAL,
            cause=str(refund.id),
        )
    return refund


async def credit_shortfall(session: AsyncSession, refund: Payment) -> int:
    """How much of a refund's credit part could not be taken back (the credit had already
    been spent); 0 for payments and for refunds that took back all they meant to."""
    if refund.kind != PaymentKind.refund:
        return 0
    taken = await credits.taken_by(session, refund)
    return refund.credited_amount - taken
