"""Client import from CSV: stage the uploaded file's rows, import them in batches, finish.

Every step is an activity that commits its own transaction and records each row's outcome
with the clients it creates, so a retried step (a crash, a timeout) carries on where the
last commit left off and never creates a client twice. The counts the workflow holds (and
answers the ``progress`` query with) come from the database after each step.
"""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from workflows.clients.client_import.contracts import (
        BATCH_ACTIVITY,
        FINISH_ACTIVITY,
        PROGRESS_QUERY,
        REJECTED,
        STAGE_ACTIVITY,
        WORKFLOW_NAME,
        ClientImportInput,
        ClientImportResult,
        FinishImportInput,
        FinishImportResult,
        ImportBatchInput,
        ImportBatchResult,
        ImportProgress,
        StageRowsInput,
        StageRowsResult,
    )

_HEARTBEAT = timedelta(seconds=15)
_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=10,
)
_INTERNAL_FAILURE = (
    "The import stopped after repeated internal errors; the rows processed before it "
    "stopped are kept."
)


@workflow.defn(name=WORKFLOW_NAME)
class ClientImportWorkflow:
    def __init__(self) -> None:
        self._progress = ImportProgress()

    @workflow.run
    async def run(self, input: ClientImportInput) -> ClientImportResult:
        try:
            staged: StageRowsResult = await workflow.execute_activity(
                STAGE_ACTIVITY,
                StageRowsInput(firm_id=input.firm_id, import_id=input.import_id),
                result_type=StageRowsResult,
                start_to_close_timeout=timedelta(minutes=10),
                heartbeat_timeout=_HEARTBEAT,
                retry_policy=_RETRY,
            )
            self._progress, remaining = staged.progress, staged.remaining
            while remaining > 0:
                if workflow.info().is_continue_as_new_suggested():
                    # Staging is a no-op the second time; the next run resumes the batches.
                    workflow.continue_as_new(input)
                batch: ImportBatchResult = await workflow.execute_activity(
                    BATCH_ACTIVITY,
                    ImportBatchInput(firm_id=input.firm_id, import_id=input.import_id),
                    result_type=ImportBatchResult,
                    start_to_close_timeout=timedelta(minutes=5),
                    heartbeat_timeout=_HEARTBEAT,
                    retry_policy=_RETRY,
                )
                self._progress, remaining = batch.progress, batch.remaining
        except ActivityError as err:
            reason = _reason(err)
            await self._finish(input, reason)
            raise ApplicationError(f"client import failed: {reason}", non_retryable=True) from err
        await self._finish(input, None)
        return ClientImportResult(progress=self._progress)

    async def _finish(self, input: ClientImportInput, failure_reason: str | None) -> None:
        finished: FinishImportResult = await workflow.execute_activity(
            FINISH_ACTIVITY,
            FinishImportInput(
                firm_id=input.firm_id, import_id=input.import_id, failure_reason=failure_reason
            ),
            result_type=FinishImportResult,
            start_to_close_timeout=timedelta(minutes=1),
            retry_policy=_RETRY,
        )
        self._progress = finished.progress

    @workflow.query(name=PROGRESS_QUERY)
    def progress(self) -> ImportProgress:
        return self._progress


def _reason(err: ActivityError) -> str:
    cause = err.cause
    if isinstance(cause, ApplicationError) and cause.type == REJECTED:
        return cause.message
    return _INTERNAL_FAILURE
