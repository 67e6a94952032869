"""What the rest of billing needs to know of ``PaymentRetryWorkflow``: its name, id, input
and result, the retry activity's input and answer, and the ``next_try`` query."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from core.search_attributes import SA_INVOICE, ProcessInput, StartAttributes

WORKFLOW_NAME = "PaymentRetryWorkflow"
PROCESS = "payment-retry"
RETRY_PAYMENT_ACTIVITY = "billing.retry_payment"
NEXT_TRY_QUERY = "next_try"


def workflow_id(invoice_id: uuid.UUID) -> str:
    return f"payment-retry-{invoice_id}"


class PaymentRetryInput(ProcessInput):
    firm_id: uuid.UUID
    invoice_id: uuid.UUID
    # When the payment failed: the schedule counts from here.
    failed_at: datetime

    def search_attributes(self) -> StartAttributes:
        return StartAttributes(PROCESS, self.firm_id, {SA_INVOICE: str(self.invoice_id)})


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
