"""Card disputes (chargebacks) of Stripe payments, following Stripe's dispute lifecycle:
``charge.dispute.created``, ``.updated`` and ``.closed`` (status ``won`` or ``lost``).

A dispute belongs to a payment, found through its payment intent, never through an
invoice: a payment that went all to client credit has none, and one on a void invoice
reduced nothing. Each event brings the ``payment_disputes`` row to the state its dispute
object describes, and a closed dispute never reopens, so created/updated/closed in any
order, or repeated, end the same:

- the first event of a dispute opens the row and tells staff (audit ``invoice.disputed``,
  outbox event ``invoice.disputed``, a task on the client), naming the invoice the
  payment was made for. The client credit the payment became and a lost dispute would
  take back is held (a ``dispute_hold`` entry): it cannot be spent meanwhile;
- won (or an inquiry closed without a dispute): the hold is released;
- lost: the hold is released and the disputed money is taken back as a refund of the
  payment (from the invoice first, then from the credit), dated the day the dispute
  opened, which is when Stripe withdrew the money."""

import uuid
from datetime import date

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.principal import Principal
from models import ClientCredit, CreditReason, DisputeStatus, Invoice, Payment, PaymentDispute
from services import audit
from services.billing import credits, invoices, refunds
from services.billing.repository import CREDITS, DISPUTES
from services.billing.stripe_webhooks import PROVIDER, DisputeObject
from services.outbox import writer as outbox
from services.tasks import TaskFields, create_task

# Stripe's closing statuses, as firmflow's outcome. ``warning_closed`` is an inquiry that
# ended without a dispute and ``prevented`` one stopped before it began: the money stays.
_CLOSED = {
    "won": DisputeStatus.won,
    "warning_closed": DisputeStatus.won,
    "prevented": DisputeStatus.won,
    "lost": DisputeStatus.lost,
}


async def invoice_of(session: AsyncSession, payment: Payment) -> uuid.UUID:
    """The invoice a payment was made for: the one it paid, or the one its credit names
    (every provider payment is recorded for an invoice)."""
    if payment.invoice_id is not None:
        return payment.invoice_id
    named = await session.scalar(
        select(ClientCredit.invoice_id)
        .where(
            CREDITS.owned_by(payment.firm_id),
            ClientCredit.payment_id == payment.id,
            ClientCredit.invoice_id.is_not(None),
        )
        .limit(1)
    )
    if named is None:
        raise RuntimeError(f"payment {payment.id} names no invoice")
    return named


async def _hold(session: AsyncSession, principal: Principal, payment: Payment, amount: int) -> int:
    """Hold the part of ``amount`` a lost dispute would take out of client credit (what
    the invoice cannot give back), as far as the credit is still there."""
    left = await refunds.refundable(session, payment)
    wanted = max(0, min(amount - left.applied, left.credited))
    if wanted == 0:
        return 0
    await credits.lock_client(session, principal, payment.client_id)
    held = min(
        wanted, await credits.balance(session, principal, payment.client_id, payment.currency)
    )
    if held > 0:
        await credits.grant(
            session,
            principal,
            client_id=payment.client_id,
            currency=payment.currency,
            amount=-held,
            reason=CreditReason.dispute_hold,
            payment_id=payment.id,
        )
    return held


async def _tell_staff(
    session: AsyncSession,
    principal: Principal,
    invoice: Invoice,
    dispute: DisputeObject,
    row: PaymentDispute,
) -> None:
    summary = {
        "dispute": dispute.id,
        "charge": dispute.charge,
        "payment_intent": dispute.payment_intent,
        "payment_id": str(row.payment_id),
        "amount": dispute.amount,
        "currency": row.currency,
        "reason": dispute.reason,
        "frozen_credit": row.frozen_credit,
    }
    await audit.record(
        session,
        principal,
        action="invoice.disputed",
        record_type="invoice",
        record_id=invoice.id,
        after=summary,
    )
    await outbox.enqueue_message(
        session,
        principal.firm_id,
        outbox.event(
            "invoice.disputed",
            f"invoice.disputed:{dispute.id}",
            invoice_id=str(invoice.id),
            client_id=str(invoice.client_id),
            **summary,
        ),
    )
    held = (
        f" {row.frozen_credit} of the client's credit is held until the dispute closes."
        if row.frozen_credit
        else ""
    )
    await create_task(
        session,
        principal,
        fields=TaskFields(
            title=f"Answer the card dispute on invoice {invoice.number or invoice.id}",
            description=(
                f"The client disputed a card payment of {dispute.amount} (minor units, "
                f"{row.currency}) with their bank; reason: {dispute.reason}. "
                f"Stripe dispute {dispute.id}, charge {dispute.charge}.{held} Submit "
                "evidence in the Stripe Dashboard before the deadline it shows."
            ),
            client_id=invoice.client_id,
        ),
    )


async def _open(
    session: AsyncSession,
    principal: Principal,
    payment: Payment,
    dispute: DisputeObject,
    *,
    opened_on: date,
    seen_at: int,
) -> PaymentDispute:
    """The dispute's row, locked; opened (and told to staff) by its first event."""
    created = await session.scalar(
        insert(PaymentDispute)
        .values(
            id=uuid.uuid4(),
            firm_id=principal.firm_id,
            payment_id=payment.id,
            client_id=payment.client_id,
            provider=PROVIDER,
            dispute_ref=dispute.id,
            amount=dispute.amount,
            currency=payment.currency,
            reason=dispute.reason,
            status=DisputeStatus.open,
            provider_status=dispute.status,
            provider_status_at=seen_at,
            opened_on=opened_on,
            frozen_credit=0,
        )
        .on_conflict_do_nothing(index_elements=["firm_id", "provider", "dispute_ref"])
        .returning(PaymentDispute.id)
    )
    row = await DISPUTES.find(
        session,
        principal,
        PaymentDispute.provider == PROVIDER,
        PaymentDispute.dispute_ref == dispute.id,
        lock=True,
    )
    if row is None:
        raise RuntimeError(f"dispute {dispute.id} vanished inside the transaction")
    if created is not None:
        row.frozen_credit = await _hold(session, principal, payment, dispute.amount)
        await session.flush()
        invoice = await invoices.get_invoice(session, principal, await invoice_of(session, payment))
        await _tell_staff(session, principal, invoice, dispute, row)
    return row


async def _close(
    session: AsyncSession,
    principal: Principal,
    payment: Payment,
    row: PaymentDispute,
    outcome: DisputeStatus,
) -> None:
    if row.frozen_credit > 0:
        await credits.grant(
            session,
            principal,
            client_id=row.client_id,
            currency=row.currency,
            amount=row.frozen_credit,
            reason=CreditReason.dispute_release,
            payment_id=payment.id,
        )
    row.status = outcome
    taken = 0
    if outcome == DisputeStatus.lost:
        taken = min(row.amount, (await refunds.refundable(session, payment)).total)
        if taken > 0:
            await refunds.record_refund(
                session,
                principal,
                payment_id=payment.id,
                amount=taken,
                reason="Card dispute lost",
                provider=PROVIDER,
                provider_ref=row.dispute_ref,
                refunded_on=row.opened_on,
            )
    await session.flush()
    await audit.record(
        session,
        principal,
        action="invoice.dispute_closed",
        record_type="invoice",
        record_id=await invoice_of(session, payment),
        after={
            "dispute": row.dispute_ref,
            "payment_id": str(payment.id),
            "outcome": outcome,
            "released_credit": row.frozen_credit,
            "taken_back": taken,
        },
    )


async def apply_dispute(
    session: AsyncSession,
    principal: Principal,
    payment: Payment,
    dispute: DisputeObject,
    *,
    opened_on: date,
    seen_at: int,
) -> str:
    """Bring the dispute of ``payment`` to the state ``dispute`` (from an event Stripe
    created at ``seen_at``) describes. The caller holds the payment's invoice lock."""
    row = await _open(session, principal, payment, dispute, opened_on=opened_on, seen_at=seen_at)
    if row.status != DisputeStatus.open:
        return f"dispute {row.dispute_ref} already closed {row.status}"
    outcome = _CLOSED.get(dispute.status)
    if outcome is not None:
        row.provider_status, row.provider_status_at = dispute.status, seen_at
        await _close(session, principal, payment, row, outcome)
        return f"dispute {row.dispute_ref} closed {outcome}"
    # Of two updates, the newer one's status stays whatever their order.
    if seen_at >= row.provider_status_at:
        row.provider_status, row.provider_status_at = dispute.status, seen_at
    await session.flush()
    return f"dispute {row.dispute_ref} open ({row.provider_status})"
