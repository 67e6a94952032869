"""The ``call_automation`` step: runs another automation of the same firm as a child run.

The activity ``automation.prepare_child_run`` writes the child's run row through the
called automation's flow control (a retried activity finds the run it made, by its dedupe
key); when the child may run now, this workflow starts it as its child workflow under the
child run's own workflow id, so the child's API, events and approvals work as for any run.
A waiting call cancels its child when the caller is canceled; a call that does not wait
leaves its child running whatever becomes of the caller.
"""

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    CancelledError,
    ChildWorkflowError,
    TerminatedError,
    TimeoutError,
)
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from workflows.automation.definition import steps as d
    from workflows.automation.run.contracts import (
        PREPARE_CHILD_RUN_ACTIVITY,
        WORKFLOW_NAME,
        ChildRunPrepared,
        ChildRunRequest,
        RunResult,
        WaitView,
        idempotency_key,
        workflow_id,
    )

from workflows.automation.run.flow import FlowResult, RunScope, StepVisit
from workflows.automation.run.steps.expressions import render
from workflows.automation.run.steps.failures import StepFailure, activity_failure, run_canceled

PREPARE_TIMEOUT = timedelta(seconds=30)
PREPARE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=10,
)


def _child_failure(err: ChildWorkflowError) -> StepFailure:
    cause = err.cause
    if isinstance(cause, ApplicationError):
        return StepFailure(cause.message)
    if isinstance(cause, CancelledError):
        return StepFailure("the called run was canceled")
    if isinstance(cause, TerminatedError):
        return StepFailure("the called run was terminated")
    if isinstance(cause, TimeoutError):
        return StepFailure("the called run timed out")
    return StepFailure("the called run failed")


async def call_automation(run: RunScope, at: StepVisit[d.CallAutomationStep]) -> FlowResult:
    step, params = at.step, at.step.params
    source = run.input
    record_id = run.record_id(at.step_id)
    request = ChildRunRequest(
        firm_id=source.firm_id,
        automation_id=params.automation_id,
        payload=render(params.payload, run.context),
        trigger="call",
        dedupe_key="call:" + idempotency_key(source.run_id, record_id, at.visit),
        parent_run_id=source.run_id,
        depth=source.depth + 1,
        initiator_id=source.initiator_id,
        caller_firm_id=source.firm_id,
    )
    try:
        prepared = await workflow.execute_activity(
            PREPARE_CHILD_RUN_ACTIVITY,
            request,
            result_type=ChildRunPrepared,
            start_to_close_timeout=PREPARE_TIMEOUT,
            retry_policy=PREPARE_RETRY,
        )
    except ActivityError as err:
        if run_canceled():
            raise asyncio.CancelledError from err
        raise activity_failure(err) from err
    run_id = str(prepared.run_id) if prepared.run_id is not None else None
    if prepared.admission in ("skipped", "failed"):
        raise StepFailure(prepared.reason or f"the called run was {prepared.admission}")
    if prepared.admission == "queued":
        if params.wait:
            # The reason says which: a full concurrency limit, or a debounce window.
            why = prepared.reason or "its flow control holds it"
            raise StepFailure(f"automation {params.automation_id} queued its run {run_id}: {why}")
        return {"run_id": run_id, "status": "queued", "output": None}, step.next
    assert prepared.input is not None and prepared.run_id is not None
    child = await workflow.start_child_workflow(
        WORKFLOW_NAME,
        prepared.input,
        id=workflow_id(prepared.run_id),
        result_type=RunResult,
        search_attributes=prepared.input.search_attributes().typed(),
        parent_close_policy=(
            ParentClosePolicy.REQUEST_CANCEL if params.wait else ParentClosePolicy.ABANDON
        ),
    )
    if not params.wait:
        return {"run_id": run_id, "status": "running", "output": None}, step.next
    run.show_waiting(WaitView(kind="child_run", step_id=record_id, child_run_id=prepared.run_id))
    try:
        result = await child
    except ChildWorkflowError as err:
        if run_canceled():
            raise asyncio.CancelledError from err
        raise _child_failure(err) from err
    finally:
        run.show_waiting(None)
    return {"run_id": run_id, "status": result.status, "output": result.output}, step.next
