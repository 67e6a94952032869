"""RecurringInvoiceWorkflow: one per recurring invoice (``recurring-invoice-<id>``).

Each run plans the next occurrence (an activity reads the stored schedule and returns the
next UTC instant), sleeps until it, has an activity invoice that occurrence exactly once,
then continues as new. The database row is the truth about the schedule and its status:
the signals (paused, resumed, ended, schedule_changed) only wake the workflow so that it
re-plans at once. Occurrences whose time passed while the schedule was paused, or before
a schedule change, are not invoiced afterwards (``not_before``).
"""

from datetime import date, datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from workflows.billing.recurring.contracts import (
        CREATE_ACTIVITY,
        ENDED_SIGNAL,
        GONE,
        NEXT_OCCURRENCE_QUERY,
        PAUSED_SIGNAL,
        PLAN_ACTIVITY,
        RESUMED_SIGNAL,
        SCHEDULE_CHANGED_SIGNAL,
        WORKFLOW_NAME,
        CreateOccurrenceInput,
        CreateOccurrenceResult,
        NextOccurrenceView,
        PlannedOccurrence,
        PlanNextInput,
        PlanNextResult,
        RecurringInput,
        RecurringResult,
        Status,
    )

# A paused workflow looks at the database this often even without a signal, so a signal
# lost around a continue-as-new cannot leave it paused for ever.
PAUSED_RECHECK = timedelta(days=1)
_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
    # Until the database is back: an occurrence must not be lost to an outage.
    maximum_attempts=0,
    non_retryable_error_types=[GONE],
)
_TIMEOUT = timedelta(minutes=1)


@workflow.defn(name=WORKFLOW_NAME)
class RecurringInvoiceWorkflow:
    def __init__(self) -> None:
        self._status: Status = "active"
        self._next: PlannedOccurrence | None = None
        self._last: date | None = None
        self._woken = False
        self._from_now = False

    @workflow.run
    async def run(self, input: RecurringInput) -> RecurringResult:
        self._last = input.last_occurrence_date
        not_before = input.not_before or workflow.now()
        while True:
            if self._from_now:
                not_before = max(not_before, workflow.now())
                self._from_now = False
            self._woken = False
            try:
                plan = await self._plan(input, not_before)
            except ActivityError as err:
                if isinstance(err.cause, ApplicationError) and err.cause.type == GONE:
                    return RecurringResult(status="gone", last_occurrence_date=self._last)
                raise
            self._status, self._next = plan.status, plan.next
            if plan.status == "paused":
                # What falls due while paused is skipped, not invoiced on resume.
                self._from_now = True
                await self._wait(PAUSED_RECHECK)
            elif plan.next is None:
                return RecurringResult(status="ended", last_occurrence_date=self._last)
            elif not await self._wait(plan.next.at - workflow.now()):
                created = await self._create(input, plan.next.occurrence_date)
                if created.outcome in ("created", "existing"):
                    self._last = plan.next.occurrence_date
                    workflow.continue_as_new(self._carry(input, not_before))
            if workflow.info().is_continue_as_new_suggested():
                workflow.continue_as_new(self._carry(input, not_before))

    def _carry(self, input: RecurringInput, not_before: datetime) -> RecurringInput:
        if self._from_now:
            not_before = max(not_before, workflow.now())
        return RecurringInput(
            firm_id=input.firm_id,
            recurring_invoice_id=input.recurring_invoice_id,
            last_occurrence_date=self._last,
            not_before=not_before,
        )

    async def _wait(self, delay: timedelta) -> bool:
        """Sleep for ``delay`` unless a signal comes first; True when one did."""
        if delay <= timedelta(0):
            return self._woken
        try:
            await workflow.wait_condition(lambda: self._woken, timeout=delay)
        except TimeoutError:
            return False
        return True

    async def _plan(self, input: RecurringInput, not_before: datetime) -> PlanNextResult:
        plan: PlanNextResult = await workflow.execute_activity(
            PLAN_ACTIVITY,
            PlanNextInput(
                firm_id=input.firm_id,
                recurring_invoice_id=input.recurring_invoice_id,
                after=self._last,
                not_before=not_before,
            ),
            result_type=PlanNextResult,
            start_to_close_timeout=_TIMEOUT,
            retry_policy=_RETRY,
        )
        return plan

    async def _create(self, input: RecurringInput, occurrence: date) -> CreateOccurrenceResult:
        created: CreateOccurrenceResult = await workflow.execute_activity(
            CREATE_ACTIVITY,
            CreateOccurrenceInput(
                firm_id=input.firm_id,
                recurring_invoice_id=input.recurring_invoice_id,
                occurrence_date=occurrence,
                fired_at=workflow.now(),
            ),
            result_type=CreateOccurrenceResult,
            start_to_close_timeout=_TIMEOUT,
            retry_policy=_RETRY,
        )
        return created

    def _wake(self, *, from_now: bool) -> None:
        self._woken = True
        self._from_now = self._from_now or from_now

    @workflow.signal(name=PAUSED_SIGNAL)
    def paused(self) -> None:
        self._wake(from_now=True)

    @workflow.signal(name=RESUMED_SIGNAL)
    def resumed(self) -> None:
        self._wake(from_now=True)

    @workflow.signal(name=ENDED_SIGNAL)
    def ended(self) -> None:
        self._wake(from_now=False)

    @workflow.signal(name=SCHEDULE_CHANGED_SIGNAL)
    def schedule_changed(self) -> None:
        self._wake(from_now=True)

    @workflow.query(name=NEXT_OCCURRENCE_QUERY)
    def next_occurrence(self) -> NextOccurrenceView:
        return NextOccurrenceView(
            status=self._status, next=self._next, last_occurrence_date=self._last
        )
