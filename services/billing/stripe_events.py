"""Applying a stored Stripe event to the firm's books (run by StripeEventWorkflow's
activity). Whatever order and however often Stripe delivers, the end state is the same,
dates included (they come from Stripe's objects, never from when firmflow got to them):

- a payment is recorded once per payment intent (``provider_ref`` = its ``pi_…`` id) by
  whichever of checkout.session.completed, payment_intent.succeeded or charge.refunded
  comes first; ``payments.record_payment`` makes the later ones no-ops and turns money on
  a void or paid invoice into client credit. It is dated by the earliest moment Stripe
  tells: the charge's own ``created`` when a charge event is among them, otherwise the
  ``created`` of the event that reported the success;
- charge.refunded carries the charge's cumulative ``amount_refunded``: the refund recorded
  is the difference to what is already refunded of that payment, keyed
  ``<charge id>:<cumulative amount>``, so a repeated or overtaken (older, smaller) event
  records nothing. It is dated by the event's ``created`` (Stripe creates the event with
  the refund; the charge no longer lists its refunds). A refund arriving before its
  payment records the payment first from the charge's own amount, payment intent and
  ``created``;
- disputes follow services/billing/stripe_disputes.py;
- a failed payment is announced (``payment.failed``) and, when the client has a saved
  card, starts the invoice's PaymentRetryWorkflow (once per invoice).

Charges and disputes are matched through their payment intent, not through an invoice.
One that arrives before its payment is recorded waits (status ``waiting``, ``waits_for``
the payment intent) and is applied, in Stripe's order (``created``, then event id), in
the transaction that records that payment, so the end state never depends on Stripe
delivering it again. Everything that reads or records the payment of one payment intent
first takes a transaction lock on that intent (then the invoice's row lock): a waiting
event and its payment cannot miss each other.

Each event row is locked while it is applied and is applied at most once."""

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import AppError, NotFound
from core.principal import Principal
from models import (
    Firm,
    Payment,
    PaymentMethod,
    SavedPaymentMethod,
    StripeEvent,
    StripeEventStatus,
)
from services import audit
from services.billing import invoices, payments, refunds, stripe_disputes
from services.billing.invoice_status import RECEIVABLE
from services.billing.repository import SAVED_METHODS, STRIPE_EVENTS
from services.billing.stripe_webhooks import (
    CHARGE_REFUNDED,
    CHECKOUT_COMPLETED,
    DISPUTE_CLOSED,
    DISPUTE_CREATED,
    DISPUTE_UPDATED,
    PAYMENT_FAILED,
    PAYMENT_SUCCEEDED,
    PROVIDER,
    ChargeObject,
    CheckoutSessionObject,
    DisputeObject,
    FailedPaymentIntentObject,
    PaymentIntentObject,
)
from services.outbox import writer as outbox
from workflows.billing.payment_retry import contracts as payment_retry
from workflows.billing.payment_retry.contracts import PaymentRetryInput

_OUTCOME_MAX = 500

log = logging.getLogger("firmflow.stripe")


@dataclass(frozen=True)
class Waiting:
    """The event cannot apply before the payment of this payment intent is recorded."""

    payment_intent: str


Outcome = str | Waiting


async def _firm_day(session: AsyncSession, firm_id: uuid.UUID, moment: int) -> date:
    """The day of a Stripe timestamp (epoch seconds) in the firm's time zone."""
    time_zone = await session.scalar(select(Firm.time_zone).where(Firm.id == firm_id))
    return datetime.fromtimestamp(moment, ZoneInfo(time_zone or "UTC")).date()


async def lock_intent(session: AsyncSession, firm_id: uuid.UUID, payment_intent: str) -> None:
    """The transaction lock every reader and recorder of one payment intent's payment
    takes first (before any invoice lock, so two of them cannot deadlock)."""
    key = f"stripe:{firm_id}:{payment_intent}"
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(key, 0))))


async def _intent_payment(
    session: AsyncSession, principal: Principal, payment_intent: str
) -> Payment | None:
    """The payment recorded for a payment intent, if any, with the intent locked and its
    invoice row locked (refunds and disputes of one payment queue there)."""
    await lock_intent(session, principal.firm_id, payment_intent)
    payment = await payments.find_provider_payment(
        session, principal, provider=PROVIDER, provider_ref=payment_intent
    )
    if payment is not None:
        await invoices.get_invoice(
            session, principal, await stripe_disputes.invoice_of(session, payment), lock=True
        )
    return payment


async def record_card_payment(
    session: AsyncSession,
    principal: Principal,
    *,
    invoice_id: uuid.UUID,
    amount: int,
    currency: str,
    payment_intent: str,
    received_on: date,
) -> Payment:
    """Record (once) the card payment of a payment intent and apply the Stripe events that
    were waiting for it. ``received_on`` is the earliest day any report of it gave, so the
    date does not depend on which report came first."""
    await lock_intent(session, principal.firm_id, payment_intent)
    payment = await payments.record_payment(
        session,
        principal,
        invoice_id=invoice_id,
        amount=amount,
        currency=currency,
        method=PaymentMethod.card,
        received_on=received_on,
        reference=payment_intent,
        provider=PROVIDER,
        provider_ref=payment_intent,
    )
    if received_on < payment.received_on:
        payment.received_on = received_on
        await session.flush()
    await _apply_waiting(session, principal, payment_intent)
    return payment


async def _pay(
    session: AsyncSession,
    principal: Principal,
    event: StripeEvent,
    *,
    amount: int,
    currency: str,
    payment_intent: str,
    received_at: int,
) -> Payment:
    return await record_card_payment(
        session,
        principal,
        invoice_id=uuid.UUID(event.data["invoice_id"]),
        amount=amount,
        currency=currency.upper(),
        payment_intent=payment_intent,
        received_on=await _firm_day(session, principal.firm_id, received_at),
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
        received_at=event.stripe_created,
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
        received_at=event.stripe_created,
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
    if invoice.status not in RECEIVABLE or invoice.balance <= 0:
        return "payment failed; nothing owed"
    saved = await session.scalar(
        select(SavedPaymentMethod.id).where(
            SAVED_METHODS.owned_by(principal),
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
            payment_retry.WORKFLOW_NAME,
            payment_retry.workflow_id(invoice.id),
            PaymentRetryInput(
                firm_id=principal.firm_id,
                invoice_id=invoice.id,
                failed_at=datetime.fromtimestamp(event.stripe_created, UTC),
            ),
        ),
    )
    return "payment failed; retries scheduled"


async def _charge_refunded(
    session: AsyncSession, principal: Principal, event: StripeEvent
) -> Outcome:
    charge = ChargeObject.model_validate(event.data["object"])
    payment = await _intent_payment(session, principal, charge.payment_intent)
    if payment is None:
        if event.data.get("invoice_id") is None:
            return Waiting(charge.payment_intent)
        if charge.amount == 0:
            return "nothing charged"
        payment = await _pay(
            session,
            principal,
            event,
            amount=charge.amount,
            currency=charge.currency,
            payment_intent=charge.payment_intent,
            received_at=charge.created or event.stripe_created,
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
        refunded_on=await _firm_day(session, principal.firm_id, event.stripe_created),
    )
    return f"refund {refund.id}"


async def _dispute(session: AsyncSession, principal: Principal, event: StripeEvent) -> Outcome:
    dispute = DisputeObject.model_validate(event.data["object"])
    payment = await _intent_payment(session, principal, dispute.payment_intent)
    if payment is None:
        return Waiting(dispute.payment_intent)
    return await stripe_disputes.apply_dispute(
        session,
        principal,
        payment,
        dispute,
        opened_on=await _firm_day(
            session, principal.firm_id, dispute.created or event.stripe_created
        ),
        seen_at=event.stripe_created,
    )


Handler = Callable[[AsyncSession, Principal, StripeEvent], Awaitable[Outcome]]

_HANDLERS: dict[str, Handler] = {
    CHECKOUT_COMPLETED: _checkout_completed,
    PAYMENT_SUCCEEDED: _payment_succeeded,
    PAYMENT_FAILED: _payment_failed,
    CHARGE_REFUNDED: _charge_refunded,
    DISPUTE_CREATED: _dispute,
    DISPUTE_UPDATED: _dispute,
    DISPUTE_CLOSED: _dispute,
}


def _settle(event: StripeEvent, status: StripeEventStatus, outcome: str) -> None:
    event.status = status
    event.outcome = outcome[:_OUTCOME_MAX]
    event.processed_at = datetime.now(UTC)


def _settle_outcome(event: StripeEvent, outcome: Outcome) -> None:
    if isinstance(outcome, Waiting):
        event.status = StripeEventStatus.waiting
        event.waits_for = outcome.payment_intent
        event.outcome = f"waiting for the payment of {outcome.payment_intent}"[:_OUTCOME_MAX]
        return
    _settle(event, StripeEventStatus.processed, outcome)


async def _apply_waiting(session: AsyncSession, principal: Principal, payment_intent: str) -> None:
    """Apply the events that waited for this payment intent's payment, in Stripe's order.
    Each applies in a savepoint: one our rules refuse is marked failed without undoing the
    payment or the others."""
    waiting = (
        await session.scalars(
            STRIPE_EVENTS.select(principal)
            .where(
                StripeEvent.status == StripeEventStatus.waiting,
                StripeEvent.waits_for == payment_intent,
            )
            .order_by(StripeEvent.stripe_created, StripeEvent.event_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).all()
    for event in waiting:
        try:
            async with session.begin_nested():
                outcome = await _HANDLERS[event.type](session, principal, event)
        except AppError as exc:
            reason = f"{type(exc).__name__}: {exc.detail}"
            log.warning("waiting stripe event %s not applied: %s", event.event_id, reason)
            _settle(event, StripeEventStatus.failed, reason)
            continue
        _settle_outcome(event, outcome)
    await session.flush()


async def _locked_event(session: AsyncSession, firm_id: uuid.UUID, event_id: str) -> StripeEvent:
    event = await session.scalar(
        STRIPE_EVENTS.select(firm_id)
        .where(StripeEvent.event_id == event_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if event is None:
        raise NotFound("No such stored Stripe event")
    return event


async def apply_event(
    session: AsyncSession, firm_id: uuid.UUID, event_id: str
) -> tuple[StripeEventStatus, str | None]:
    """Apply a pending event and mark it processed (or waiting for its payment); an event
    already applied, waiting or given up on is left as it is. Returns its status and
    outcome."""
    event = await _locked_event(session, firm_id, event_id)
    if event.status != StripeEventStatus.pending:
        return event.status, event.outcome
    handler = _HANDLERS.get(event.type)
    if handler is None:
        _settle(event, StripeEventStatus.ignored, "not a type firmflow applies")
    else:
        _settle_outcome(event, await handler(session, Principal.system(firm_id), event))
    await session.flush()
    return event.status, event.outcome


async def mark_failed(
    session: AsyncSession, firm_id: uuid.UUID, event_id: str, reason: str
) -> None:
    """Give up on an event that can never apply (the reason is ours, never Stripe's data)."""
    event = await _locked_event(session, firm_id, event_id)
    if event.status != StripeEventStatus.pending:
        return
    _settle(event, StripeEventStatus.failed, reason)
    await session.flush()
