"""What the rest of billing needs to know of ``RecurringInvoiceWorkflow``: its name, id,
input and result, its activities and their models, and its signal and query names."""

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel

from core.search_attributes import SA_RECURRING_INVOICE, ProcessInput, StartAttributes

WORKFLOW_NAME = "RecurringInvoiceWorkflow"
PROCESS = "recurring-invoice"
PLAN_ACTIVITY = "recurring_invoice.plan_next"
CREATE_ACTIVITY = "recurring_invoice.create_occurrence"

PAUSED_SIGNAL = "paused"
RESUMED_SIGNAL = "resumed"
ENDED_SIGNAL = "ended"
SCHEDULE_CHANGED_SIGNAL = "schedule_changed"
NEXT_OCCURRENCE_QUERY = "next_occurrence"
# The ApplicationError type when the recurring invoice no longer exists.
GONE = "RecurringInvoiceGone"

Status = Literal["active", "paused", "ended"]


def workflow_id(recurring_invoice_id: uuid.UUID) -> str:
    return f"recurring-invoice-{recurring_invoice_id}"


class RecurringInput(ProcessInput):
    firm_id: uuid.UUID
    recurring_invoice_id: uuid.UUID
    # Carried over continue-as-new: the last occurrence invoiced, and the instant before
    # which occurrences are not invoiced (creation, the last resume or schedule change).
    last_occurrence_date: date | None = None
    not_before: datetime | None = None

    def search_attributes(self) -> StartAttributes:
        return StartAttributes(
            PROCESS, self.firm_id, {SA_RECURRING_INVOICE: str(self.recurring_invoice_id)}
        )


class RecurringResult(BaseModel):
    status: Literal["ended", "gone"]
    last_occurrence_date: date | None


class PlannedOccurrence(BaseModel):
    occurrence_date: date
    # The wall-clock time in the schedule's zone, and the same instant in UTC.
    local: datetime
    at: datetime


class PlanNextInput(BaseModel):
    firm_id: uuid.UUID
    recurring_invoice_id: uuid.UUID
    after: date | None
    not_before: datetime | None


class PlanNextResult(BaseModel):
    """``next`` is set when ``status`` is active (an exhausted schedule is ended)."""

    status: Status
    next: PlannedOccurrence | None = None


class CreateOccurrenceInput(BaseModel):
    firm_id: uuid.UUID
    recurring_invoice_id: uuid.UUID
    occurrence_date: date
    # When the workflow fired for it, recorded in the audit trail.
    fired_at: datetime


class CreateOccurrenceResult(BaseModel):
    """created / existing (an earlier attempt made it) / not_active (paused or ended
    meanwhile) / rejected (the invoice could not be made; the schedule was paused)."""

    outcome: Literal["created", "existing", "not_active", "rejected"]
    invoice_id: uuid.UUID | None = None
    detail: str | None = None


class NextOccurrenceView(BaseModel):
    status: Status
    next: PlannedOccurrence | None
    last_occurrence_date: date | None
