"""PaymentRetryWorkflow: after a card payment for an invoice fails, charge the client's
saved card again on a fixed schedule, modelled on the default of Stripe's Smart Retries
(up to 8 tries within 2 weeks): 1, 2, 3, 5, 7, 9, 11 and 14 days after the failure.

Before each try the activity re-reads the invoice and stops when it is paid, void or
written off, has nothing left to pay, or the client has no saved card any more. Each try
charges the balance of that moment with the Stripe idempotency key
``<invoice>:<balance>:<try>``: a retried activity never charges twice, while a new balance
(a partial payment meanwhile) is a new charge. A success is recorded as a webhook's
payment is (idempotent on the payment intent id), so its later webhook changes nothing.
One workflow per invoice (``payment-retry-<invoice id>``); 8 timers and 8 activities keep
the history far below any continue-as-new threshold."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from workflows.billing.payment_retry.contracts import (
        NEXT_TRY_QUERY,
        RETRY_PAYMENT_ACTIVITY,
        WORKFLOW_NAME,
        NextTry,
        PaymentRetryInput,
        PaymentRetryResult,
        RetryCall,
        RetryOutcome,
    )

# Days after the failure of each try.
RETRY_SCHEDULE_DAYS: tuple[int, ...] = (1, 2, 3, 5, 7, 9, 11, 14)

_TRY_TIMEOUT = timedelta(seconds=60)
# Retries of one try when Stripe or Postgres cannot be reached; the idempotency key makes
# a repeated charge request return the first answer.
_TRY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
    maximum_attempts=10,
)


@workflow.defn(name=WORKFLOW_NAME)
class PaymentRetryWorkflow:
    def __init__(self) -> None:
        self._next = NextTry(attempt=None, at=None)

    @workflow.query(name=NEXT_TRY_QUERY)
    def next_try(self) -> NextTry:
        return self._next

    @workflow.run
    async def run(self, retry: PaymentRetryInput) -> PaymentRetryResult:
        tries = 0
        for attempt, days in enumerate(RETRY_SCHEDULE_DAYS, start=1):
            due = retry.failed_at + timedelta(days=days)
            self._next = NextTry(attempt=attempt, at=due)
            wait = due - workflow.now()
            if wait > timedelta(0):
                await workflow.sleep(wait)
            outcome: RetryOutcome = await workflow.execute_activity(
                RETRY_PAYMENT_ACTIVITY,
                RetryCall(firm_id=retry.firm_id, invoice_id=retry.invoice_id, attempt=attempt),
                result_type=RetryOutcome,
                start_to_close_timeout=_TRY_TIMEOUT,
                retry_policy=_TRY_RETRY,
            )
            if outcome.status == "stopped":
                self._next = NextTry(attempt=None, at=None)
                return PaymentRetryResult(status="stopped", tries=tries, detail=outcome.detail)
            tries += 1
            if outcome.status in ("succeeded", "processing"):
                self._next = NextTry(attempt=None, at=None)
                return PaymentRetryResult(status="paid", tries=tries, detail=outcome.detail)
        self._next = NextTry(attempt=None, at=None)
        return PaymentRetryResult(status="exhausted", tries=tries)
