"""Stripe's activities: applying a stored webhook event (StripeEventWorkflow) and one try
of a failed card payment (PaymentRetryWorkflow). The rules live in
services/billing/stripe_events.py and services/billing/checkout.py; these wrappers open the
firm's tenant transaction and turn a business refusal into a non-retryable failure."""

import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.unit_of_work import firm_transaction
from core.crypto import Cipher
from core.errors import AppError
from core.temporal import ClientProvider
from providers.payments import PaymentProviderFactory
from services.billing import checkout, stripe_events
from workflows.billing.payment_retry.contracts import (
    RETRY_PAYMENT_ACTIVITY,
    RetryCall,
    RetryOutcome,
)
from workflows.billing.stripe_event import contracts as stripe_event
from workflows.billing.stripe_event.contracts import StripeEventInput, StripeEventResult

log = logging.getLogger("firmflow.stripe")


class StripeActivities:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        temporal: ClientProvider,
        *,
        cipher: Cipher,
        providers: PaymentProviderFactory,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._temporal = temporal
        self._cipher = cipher
        self._providers = providers

    @activity.defn(name=stripe_event.APPLY_ACTIVITY)
    async def apply_event(self, event: StripeEventInput) -> StripeEventResult:
        try:
            # Payment events, the dunning signal and a retry workflow's start go out right
            # after the commit (the relay would carry them out later otherwise).
            async with firm_transaction(
                self._sessionmaker, event.firm_id, self._temporal
            ) as session:
                status, outcome = await stripe_events.apply_event(
                    session, event.firm_id, event.event_id
                )
        except AppError as exc:
            # A refusal of our own rules (e.g. a refund larger than what is left): retrying
            # cannot change it. The event is marked failed for people to look at.
            reason = f"{type(exc).__name__}: {exc.detail}"
            log.warning("stripe event %s not applied: %s", event.event_id, reason)
            async with firm_transaction(self._sessionmaker, event.firm_id) as session:
                await stripe_events.mark_failed(session, event.firm_id, event.event_id, reason)
            raise ApplicationError(
                reason, type=stripe_event.EVENT_REJECTED, non_retryable=True
            ) from None
        return StripeEventResult(status=status, outcome=outcome)

    @activity.defn(name=RETRY_PAYMENT_ACTIVITY)
    async def retry_payment(self, call: RetryCall) -> RetryOutcome:
        try:
            async with firm_transaction(
                self._sessionmaker, call.firm_id, self._temporal
            ) as session:
                outcome = await checkout.retry_charge(
                    session, call, cipher=self._cipher, providers=self._providers
                )
        except AppError as exc:
            raise ApplicationError(
                f"{type(exc).__name__}: {exc.detail}", type=type(exc).__name__, non_retryable=True
            ) from None
        return outcome
