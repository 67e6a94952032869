"""StripeEventWorkflow: applies one stored Stripe event (``stripe_events`` row) to the
firm's invoices, once.

The webhook route stores the event and enqueues this workflow through the outbox in the
same transaction, then answers Stripe at once; the work happens here, with retries, away
from Stripe's delivery timeout. The workflow id carries the firm and Stripe's event id, so
a redelivered event can never start a second one, and the activity itself is idempotent
(it locks the event row and does nothing once the event is no longer pending)."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from workflows.billing.stripe_event.contracts import (
        APPLY_ACTIVITY,
        EVENT_REJECTED,
        WORKFLOW_NAME,
        StripeEventInput,
        StripeEventResult,
    )

_APPLY_TIMEOUT = timedelta(seconds=60)
# Transient failures (Postgres restarting, a lock timeout) are retried for about a day.
_APPLY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=30),
    maximum_attempts=60,
    non_retryable_error_types=[EVENT_REJECTED],
)


@workflow.defn(name=WORKFLOW_NAME)
class StripeEventWorkflow:
    @workflow.run
    async def run(self, event: StripeEventInput) -> StripeEventResult:
        result: StripeEventResult = await workflow.execute_activity(
            APPLY_ACTIVITY,
            event,
            result_type=StripeEventResult,
            start_to_close_timeout=_APPLY_TIMEOUT,
            retry_policy=_APPLY_RETRY,
        )
        return result
