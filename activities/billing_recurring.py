"""RecurringInvoiceWorkflow's activities. The rules live in services/billing/recurring.py;
these open the firm's unit of work (committed when the activity returns) and act as the
system on the firm's behalf."""

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.unit_of_work import firm_transaction
from core.errors import NotFound
from core.principal import Principal
from services.billing import recurring
from workflows.billing.recurring.contracts import (
    CREATE_ACTIVITY,
    GONE,
    PLAN_ACTIVITY,
    CreateOccurrenceInput,
    CreateOccurrenceResult,
    PlannedOccurrence,
    PlanNextInput,
    PlanNextResult,
)


def _gone() -> ApplicationError:
    return ApplicationError("the recurring invoice no longer exists", type=GONE, non_retryable=True)


class RecurringInvoiceActivities:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    @activity.defn(name=PLAN_ACTIVITY)
    async def plan_next(self, input: PlanNextInput) -> PlanNextResult:
        try:
            async with firm_transaction(self._sessionmaker, input.firm_id) as session:
                plan = await recurring.plan_next(
                    session,
                    Principal.system(input.firm_id),
                    input.recurring_invoice_id,
                    after=input.after,
                    not_before=input.not_before,
                )
        except NotFound:
            raise _gone() from None
        found = plan.next
        return PlanNextResult(
            status=plan.status.value,
            next=PlannedOccurrence(
                occurrence_date=found.occurrence_date, local=found.local, at=found.at
            )
            if found
            else None,
        )

    @activity.defn(name=CREATE_ACTIVITY)
    async def create_occurrence(self, input: CreateOccurrenceInput) -> CreateOccurrenceResult:
        try:
            async with firm_transaction(self._sessionmaker, input.firm_id) as session:
                invoiced = await recurring.invoice_occurrence(
                    session,
                    Principal.system(input.firm_id),
                    input.recurring_invoice_id,
                    occurrence_date=input.occurrence_date,
                    fired_at=input.fired_at,
                )
        except NotFound:
            raise _gone() from None
        return CreateOccurrenceResult(
            outcome=invoiced.outcome, invoice_id=invoiced.invoice_id, detail=invoiced.detail
        )
