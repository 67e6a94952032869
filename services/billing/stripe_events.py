"""Applying a stored Stripe event to the firm's books (run by StripeEventWorkflow's
activity). Whatever order and however often Stripe delivers, the end state is the same:

- a payment is recorded once per payment intent (``provider_ref`` = its ``pi_…`` id) by
  whichever of checkout.session.completed, payment_intent.succeeded or charge.refunded
  comes first; ``payments.record_payment`` makes the later ones no-ops and turns money on
  a void or paid invoice into client credit;
- charge.refunded carries the charge's cumulative ``amount_refunded``: the refund recorded
  is the difference to what is already refunded of that payment, keyed
  ``<charge id>:<cumulative amount>``, so a repeated or overtaken (older, smaller) event
  records nothing. A refund arriving before its payment records the payment first from
  the charge's own amount and payment intent;
- a dispute is audited, announced (``invoice.disputed``) and given to staff as a task;
  it marks nothing paid or unpaid (Stripe has only frozen the money so far);
- a failed payment is announced (``payment.failed``) and, when the client has a saved
  card, starts the invoice's PaymentRetryWorkflow (once per invoice).

Each event row is locked while it is applied and is applied at most once."""

import uuid
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core import outbox
from core.errors import NotFound
from core.principal import Principal
from models import (
    Firm,
    Invoice,
    InvoiceStatus,
    Payment,
    PaymentMethod,
    SavedPaymentMethod,
    StripeEvent,
    StripeEventStatus,
)
from services import audit
from services.billing import invoices, payments, refunds
from services.billing.stripe_webhooks import (
    CHARGE_REFUNDED,
    CHECKOUT_COMPLETED,
    DISPUTE_CREATED,
    PAYMENT_FAILED,
    PAYMENT_SUCCEEDED,
    PROVIDER,
    ChargeObject,
    CheckoutSessionObject,
    DisputeObject,
    FailedPaymentIntentObject,
    PaymentIntentObject,
)
from services.tasks import TaskFields, create_task
from workflows.billing.payment_retry import (
    PAYMENT_RETRY_WORKFLOW,
    PaymentRetryInput,
    payment_retry_workflow_id,
)

_OUTCOME_MAX = 500
# Invoices a retried charge could still pay.
_OWED = frozenset({InvoiceStatus.open.value, InvoiceStatus.partially_paid.value})


async def _received_on(session: AsyncSession, firm_id: uuid.UUID, created: int) -> date:
    """The day Stripe created the event, in the firm's time zone."""
    time_zone = await session.scalar(select(Firm.time_zone).where(Firm.id == firm_id))
    return datetime.fromtimestamp(created, ZoneInfo(time_zone or "UTC")).date()


async def _pay(
    session: AsyncSession,
    principal: Principal,
    event: StripeEvent,
    *,
    amount: int,
    currency: str,
    payment_intent: str,
) -> Payment:
    return await payments.record_payment(
        session,
        principal,
        invoice_id=uuid.UUID(event.data["invoice_id"]),
        amount=amount,
        currency=currency.upper(),
        method=PaymentMethod.card,
        received_on=await _received_on(session, principal.firm_id, event.stripe_created),
        reference=payment_intent,
        provider=PROVIDER,
        provider_ref=payment_intent,
    )


async def _checkout_completed(
    session: AsyncSession, principal: Principal, event: StripeEvent
) -> str:
    checkout = CheckoutSessionObject.model_validate(event.data["object"])
    if checkout.payment_status != "paid" or checkout.payment_intent is None:
        # A delayed method (a bank debit): payment_intent.succeeded reports the money.
        return f"checkout completed, payment {checkout.payment_status}"
    if checkout.amount_total == 0:
        return "checkout completed for nothing"
    payment = await _pay(
        session,
        principal,
        event,
        amount=checkout.amount_total,
        currency=checkout.currency,
        payment_intent=checkout.payment_intent,
    )
    return f"payment {payment.id}"


async def _save_method(
    session: AsyncSession, principal: Principal, intent: PaymentIntentObject, client_id: uuid.UUID
) -> None:
    """A card the client agreed to keep on file (setup_future_usage=off_session): the one
    payment retries charge."""
    if intent.customer is None or intent.payment_method is None:
        return
    if intent.setup_future_usage != "off_session":
        return
    await session.execute(
        insert(SavedPaymentMethod)
        .values(
            id=uuid.uuid4(),
            firm_id=principal.firm_id,
            client_id=client_id,
            provider=PROVIDER,
            customer_ref=intent.customer,
            method_ref=intent.payment_method,
            is_default=True,
        )
        .on_conflict_do_nothing(index_elements=["firm_id", "provider", "method_ref"])
    )


async def _payment_succeeded(
    session: AsyncSession, principal: Principal, event: StripeEvent
) -> str:
    intent = PaymentIntentObject.model_validate(event.data["object"])
    if intent.amount_received == 0:
        return "nothing received"
    payment = await _pay(
        session,
        principal,
        event,
        amount=intent.amount_received,
        currency=intent.currency,
        payment_intent=intent.id,
    )
    await _save_method(session, principal, intent, payment.client_id)
    return f"payment {payment.id}"


async def _payment_failed(session: AsyncSession, principal: Principal, event: StripeEvent) -> str:
    intent = FailedPaymentIntentObject.model_validate(event.data["object"])
    invoice = await invoices.get_invoice(
        session, principal, uuid.UUID(event.data["invoice_id"]), lock=True
    )
    error = intent.last_payment_error
    await audit.record(
        session,
        principal,
        action="invoice.payment_failed",
        record_type="invoice",
        record_id=invoice.id,
        after={
            "payment_intent": intent.id,
            "amount": intent.amount,
            "code": error.code if error else None,
            "decline_code": error.decline_code if error else None,
        },
    )
    await outbox.enqueue_message(
        session,
        principal.firm_id,
        outbox.event(
            "payment.failed",
            f"payment.failed:{event.event_id}",
            invoice_id=str(invoice.id),
            client_id=str(invoice.client_id),
            payment_intent=intent.id,
            amount=intent.amount,
            currency=invoice.currency,
            decline_code=error.decline_code if error else None,
        ),
    )
    if invoice.status not in _OWED or invoice.balance <= 0:
        return "payment failed; nothing owed"
    saved = await session.scalar(
        select(SavedPaymentMethod.id).where(
            SavedPaymentMethod.firm_id == principal.firm_id,
            SavedPaymentMethod.client_id == invoice.client_id,
            SavedPaymentMethod.provider == PROVIDER,
            SavedPaymentMethod.detached_at.is_(None),
        )
    )
    if saved is None:
        return "payment failed; no saved card to retry"
    await outbox.enqueue_message(
        session,
        principal.firm_id,
        outbox.start_workflow(
            PAYMENT_RETRY_WORKFLOW,
            payment_retry_workflow_id(invoice.id),
            PaymentRetryInput(
                firm_id=principal.firm_id,
                invoice_id=invoice.id,
                failed_at=datetime.fromtimestamp(event.stripe_created, UTC),
            ),
        ),
    )
    return "payment failed; retries scheduled"


async def _charge_refunded(session: AsyncSession, principal: Principal, event: StripeEvent) -> str:
    charge = ChargeObject.model_validate(event.data["object"])
    # Refunds of one invoice serialise here, so two events cannot both take the same
    # difference.
    await invoices.get_invoice(session, principal, uuid.UUID(event.data["invoice_id"]), lock=True)
    payment = await payments.find_provider_payment(
        session, principal, provider=PROVIDER, provider_ref=charge.payment_intent
    )
    if payment is None:
        if charge.amount == 0:
            return "nothing charged"
        payment = await _pay(
            session,
            principal,
            event,
            amount=charge.amount,
            currency=charge.currency,
            payment_intent=charge.payment_intent,
        )
    left = await refunds.refundable(session, payment)
    already = payment.amount - left.total
    missing = min(charge.amount_refunded - already, left.total)
    if missing <= 0:
        return f"refunds of payment {payment.id} already recorded"
    refund = await refunds.record_refund(
        session,
        principal,
        payment_id=payment.id,
        amount=missing,
        reason="Refunded through Stripe",
        provider=PROVIDER,
        provider_ref=f"{charge.id}:{charge.amount_refunded}",
    )
    return f"refund {refund.id}"


async def _dispute_created(session: AsyncSession, principal: Principal, event: StripeEvent) -> str:
    dispute = DisputeObject.model_validate(event.data["object"])
    invoice = await session.scalar(
        select(Invoice).where(
            Invoice.firm_id == principal.firm_id,
            Invoice.id == uuid.UUID(event.data["invoice_id"]),
        )
    )
    if invoice is None:
        raise NotFound("The disputed invoice no longer exists")
    summary = {
        "dispute": dispute.id,
        "charge": dispute.charge,
        "payment_intent": dispute.payment_intent,
        "amount": dispute.amount,
        "currency": dispute.currency.upper(),
        "reason": dispute.reason,
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
    task = await create_task(
        session,
        principal,
        fields=TaskFields(
            title=f"Answer the card dispute on invoice {invoice.number or invoice.id}",
            description=(
                f"The client disputed a card payment of {dispute.amount} (minor units, "
                f"{dispute.currency.upper()}) with their bank; reason: {dispute.reason}. "
                f"Stripe dispute {dispute.id}, charge {dispute.charge}. Submit evidence in "
                "the Stripe Dashboard before the deadline it shows."
            ),
            client_id=invoice.client_id,
        ),
    )
    return f"dispute task {task.id}"


_HANDLERS = {
    CHECKOUT_COMPLETED: _checkout_completed,
    PAYMENT_SUCCEEDED: _payment_succeeded,
    PAYMENT_FAILED: _payment_failed,
    CHARGE_REFUNDED: _charge_refunded,
    DISPUTE_CREATED: _dispute_created,
}


async def _locked_event(session: AsyncSession, firm_id: uuid.UUID, event_id: str) -> StripeEvent:
    event = await session.scalar(
        select(StripeEvent)
        .where(StripeEvent.firm_id == firm_id, StripeEvent.event_id == event_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if event is None:
        raise NotFound("No such stored Stripe event")
    return event


async def apply_event(
    session: AsyncSession, firm_id: uuid.UUID, event_id: str
) -> tuple[StripeEventStatus, str | None]:
    """Apply a pending event and mark it processed; an event already applied (or given up
    on) is left as it is. Returns its status and outcome."""
    event = await _locked_event(session, firm_id, event_id)
    if event.status != StripeEventStatus.pending:
        return StripeEventStatus(event.status), event.outcome
    handler = _HANDLERS.get(event.type)
    if handler is None:
        outcome = "not a type firmflow applies"
        event.status = StripeEventStatus.ignored.value
    else:
        outcome = await handler(session, Principal.system(firm_id), event)
        event.status = StripeEventStatus.processed.value
    event.outcome = outcome[:_OUTCOME_MAX]
    event.processed_at = datetime.now(UTC)
    await session.flush()
    return StripeEventStatus(event.status), event.outcome


async def mark_failed(
    session: AsyncSession, firm_id: uuid.UUID, event_id: str, reason: str
) -> None:
    """Give up on an event that can never apply (the reason is ours, never Stripe's data)."""
    event = await _locked_event(session, firm_id, event_id)
    if event.status != StripeEventStatus.pending:
        return
    event.status = StripeEventStatus.failed.value
    event.outcome = reason[:_OUTCOME_MAX]
    event.processed_at = datetime.now(UTC)
    await session.flush()
