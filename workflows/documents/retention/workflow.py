"""The nightly retention sweep: for each firm with anything to do, report what is due and
delete what is past its grace (``services.documents.sweep``), one firm at a time in its own
activity calls, so one firm's failure is retried, then recorded, without stopping the
others. A Temporal Schedule (``retention-sweep``, 02:00 UTC) starts it; ops can also
trigger the Schedule by hand. Continues as new after each page of firms."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from workflows.documents.retention.contracts import (
        DELETE_ACTIVITY,
        LIST_FIRMS_ACTIVITY,
        PROGRESS_QUERY,
        REPORT_ACTIVITY,
        WORKFLOW_NAME,
        DeleteResult,
        ListFirmsInput,
        ListFirmsResult,
        ReportResult,
        RetentionSweepInput,
        RetentionSweepResult,
        SweepFirmInput,
        SweepTotals,
    )

RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=5,
)


@workflow.defn(name=WORKFLOW_NAME)
class RetentionSweepWorkflow:
    def __init__(self) -> None:
        self._totals = SweepTotals()

    @workflow.run
    async def run(self, input: RetentionSweepInput) -> RetentionSweepResult:
        at = input.at or workflow.now()
        self._totals = input.totals
        page: ListFirmsResult = await workflow.execute_activity(
            LIST_FIRMS_ACTIVITY,
            ListFirmsInput(after_firm_id=input.after_firm_id, limit=input.firms_per_page),
            result_type=ListFirmsResult,
            start_to_close_timeout=timedelta(minutes=1),
            retry_policy=RETRY,
        )
        for firm_id in page.firm_ids:
            await self._sweep(SweepFirmInput(firm_id=firm_id, at=at, sweep_id=_sweep_id()))
        if len(page.firm_ids) == input.firms_per_page:
            # More firms may follow: the next page in a fresh history.
            workflow.continue_as_new(
                input.model_copy(
                    update={"after_firm_id": page.firm_ids[-1], "at": at, "totals": self._totals}
                )
            )
        return RetentionSweepResult(at=at, totals=self._totals)

    async def _sweep(self, firm: SweepFirmInput) -> None:
        try:
            report: ReportResult = await workflow.execute_activity(
                REPORT_ACTIVITY,
                firm,
                result_type=ReportResult,
                start_to_close_timeout=timedelta(minutes=5),
                retry_policy=RETRY,
            )
            # Always: besides the documents past their grace, it purges the blobs an
            # earlier sweep's deletions could not (storage down).
            deleted: DeleteResult = await workflow.execute_activity(
                DELETE_ACTIVITY,
                firm,
                result_type=DeleteResult,
                start_to_close_timeout=timedelta(minutes=30),
                heartbeat_timeout=timedelta(minutes=1),
                retry_policy=RETRY,
            )
        except ActivityError as err:
            # Tomorrow's sweep tries again; one firm's trouble must not hold up the rest.
            workflow.logger.warning("retention sweep of firm %s failed: %s", firm.firm_id, err)
            self._totals.failed_firms.append(firm.firm_id)
            self._totals.firms += 1
            return
        self._totals.firms += 1
        self._totals.reported += report.reported
        self._totals.deleted += deleted.deleted
        self._totals.blobs_deleted += deleted.blobs_deleted

    @workflow.query(name=PROGRESS_QUERY)
    def progress(self) -> SweepTotals:
        return self._totals


def _sweep_id() -> str:
    """The sweep's workflow id (the Schedule's, with its time), kept across continue-as-new:
    the deletion records name it, and ops find the run by it."""
    return workflow.info().workflow_id
