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

import uuid
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel
from temporalio import workflow
from temporalio.common import RetryPolicy

from core.search_attributes import SA_INVOICE, ProcessInput, StartAttributes

PAYMENT_RETRY_WORKFLOW = "PaymentRetryWorkflow"
PAYMENT_RETRY_PROCESS = "payment-retry"
RETRY_PAYMENT_ACTIVITY = "billing.retry_payment"
QUERY_NEXT_TRY = "next_try"
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


class PaymentRetryInput(ProcessInput):
    firm_id: uuid.UUID
    invoice_id: uuid.UUID
    # When the payment failed: the schedule counts from here.
    failed_at: datetime

    def search_attributes(self) -> StartAttributes:
        return StartAttributes(
            PAYMENT_RETRY_PROCESS, self.firm_id, {SA_INVOICE: str(self.invoice_id)}
        )


class RetryCall(BaseModel):
    firm_id: uuid.UUID
    invoice_id: uuid.UUID
    attempt: int


class RetryOutcome(BaseModel):
    # succeeded / processing: paid or about to be; failed: try again later;
    # stopped: nothing left to do (paid, void, written off, no saved card, no Stripe key).
    status: Literal["succeeded", "processing", "failed", "stopped"]
    detail: str | None = None
    payment_intent_id: str | None = None


class PaymentRetryResult(BaseModel):
    status: Literal["paid", "stopped", "exhausted"]
    tries: int
    detail: str | None = None


class NextTry(BaseModel):
    attempt: int | None
    at: datetime | None


def payment_retry_workflow_id(invoice_id: uuid.UUID) -> str:
    return f"payment-retry-{invoice_id}"


@workflow.defn(name=PAYMENT_RETRY_WORKFLOW)
class PaymentRetryWorkflow:
    def __init__(self) -> None:
        self._next = NextTry(attempt=None, at=None)

    @workflow.query(name=QUERY_NEXT_TRY)
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
