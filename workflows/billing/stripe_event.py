"""StripeEventWorkflow: applies one stored Stripe event (``stripe_events`` row) to the
firm's invoices, once.

The webhook route stores the event and enqueues this workflow through the outbox in the
same transaction, then answers Stripe at once; the work happens here, with retries, away
from Stripe's delivery timeout. The workflow id carries the firm and Stripe's event id, so
a redelivered event can never start a second one, and the activity itself is idempotent
(it locks the event row and does nothing once the event is no longer pending)."""

import uuid
from datetime import timedelta

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy

from core.search_attributes import SA_STRIPE_EVENT, ProcessInput, StartAttributes

STRIPE_EVENT_WORKFLOW = "StripeEventWorkflow"
STRIPE_EVENT_PROCESS = "stripe-event"
APPLY_STRIPE_EVENT_ACTIVITY = "billing.apply_stripe_event"
# The ApplicationError type of an event that can never apply (recorded as failed).
EVENT_REJECTED = "StripeEventRejected"

_APPLY_TIMEOUT = timedelta(seconds=60)
# Transient failures (Postgres restarting, a lock timeout) are retried for about a day.
_APPLY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=30),
    maximum_attempts=60,
    non_retryable_error_types=[EVENT_REJECTED],
)


class StripeEventInput(ProcessInput):
    firm_id: uuid.UUID
    event_id: str

    def search_attributes(self) -> StartAttributes:
        return StartAttributes(STRIPE_EVENT_PROCESS, self.firm_id, {SA_STRIPE_EVENT: self.event_id})


class StripeEventResult(BaseModel):
    status: str
    outcome: str | None


def stripe_event_workflow_id(firm_id: uuid.UUID, event_id: str) -> str:
    return f"stripe-event-{firm_id}-{event_id}"


@workflow.defn(name=STRIPE_EVENT_WORKFLOW)
class StripeEventWorkflow:
    @workflow.run
    async def run(self, event: StripeEventInput) -> StripeEventResult:
        result: StripeEventResult = await workflow.execute_activity(
            APPLY_STRIPE_EVENT_ACTIVITY,
            event,
            result_type=StripeEventResult,
            start_to_close_timeout=_APPLY_TIMEOUT,
            retry_policy=_APPLY_RETRY,
        )
        return result
