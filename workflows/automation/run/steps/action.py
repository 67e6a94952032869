"""An action step runs as one activity: its input, its name, deadline and retry policy
(the definition sets ``timeout`` and ``retry`` per step, or leaves them to the defaults
here), whether it runs as a local or a regular activity, and the record of its success.

A short step runs as a local activity (``runs_locally`` in the definition): inside the
run's workflow task, so it costs the Temporal server no activity task and the history
three events fewer. Its result is recorded with the task; a worker that dies before
completing the task leaves the steps it ran to run again on the next worker, which then
find their step rows and return what they recorded (their effects are not repeated).

Workflow code (it schedules the activity), so it is imported inside the sandbox like the
interpreter.
"""

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from workflows.automation.definition import steps as d
    from workflows.automation.run.contracts import (
        STEP_INVALID,
        RunInput,
        StepCall,
        StepOutcome,
        StepRecord,
        action_activity,
    )

from workflows.automation.run.flow import StepVisit
from workflows.automation.run.steps.expressions import context_for
from workflows.automation.run.steps.failures import activity_failure, run_canceled

DEFAULT_ACTION_TIMEOUT = timedelta(seconds=60)
# An HTTP step's own deadline plus room to record the result.
HTTP_TIMEOUT_MARGIN = timedelta(seconds=10)
# The history of a run's first workflow task: started, task scheduled, task started. A
# task retried after a worker died, a signal or a timer all make it longer.
_FIRST_TASK_HISTORY = 3


def step_call(
    input: RunInput,
    record_id: str,
    at: StepVisit[d.ActionStep],
    *,
    position: int,
    context: dict[str, Any],
    pending: list[StepRecord],
) -> StepCall:
    """The input of an action activity (``record_id`` is the step id as recorded, foreach
    prefix included); it carries (and then owns) the pending records."""
    params = at.step.params.model_dump(mode="json", by_alias=True)
    return StepCall(
        run_id=input.run_id,
        firm_id=input.firm_id,
        step_id=record_id,
        step_type=at.step.type,
        visit=at.visit,
        position=position,
        params=params,
        context=context_for(params, context),
        started_at=at.started,
        pending=list(pending),
        first_task=workflow.info().get_current_history_length() <= _FIRST_TASK_HISTORY,
    )


async def execute_action(step: d.ActionStep, call: StepCall, *, local: bool) -> StepOutcome:
    """Run the step's activity (a local one when ``local``). An error it ends in (after its
    retries) is a StepFailure, unless the run was canceled: that ends the run, not the
    step."""
    try:
        if local:
            outcome: StepOutcome = await workflow.execute_local_activity(
                action_activity(step.type),
                call,
                result_type=StepOutcome,
                start_to_close_timeout=_timeout(step),
                retry_policy=retry_policy(step),
            )
        else:
            outcome = await workflow.execute_activity(
                action_activity(step.type),
                call,
                result_type=StepOutcome,
                start_to_close_timeout=_timeout(step),
                retry_policy=retry_policy(step),
            )
    except ActivityError as err:
        if run_canceled():
            raise asyncio.CancelledError from err
        raise activity_failure(err) from err
    return outcome


def succeeded_record(call: StepCall, outcome: StepOutcome) -> StepRecord:
    """The record of an action that succeeded, for the live view only: the activity wrote
    the step's record itself."""
    return StepRecord(
        step_id=call.step_id,
        step_type=call.step_type,
        visit=call.visit,
        position=call.position,
        status="succeeded",
        attempt=outcome.attempt,
        input=outcome.input,
        output=outcome.output,
        started_at=call.started_at,
        finished_at=workflow.now(),
    )


def retry_policy(step: d.ActionStep) -> RetryPolicy:
    policy = step.retry or d.RetryPolicy()
    return RetryPolicy(
        initial_interval=timedelta(seconds=policy.initial_interval),
        backoff_coefficient=policy.backoff,
        maximum_interval=timedelta(seconds=policy.max_interval),
        maximum_attempts=policy.max_attempts,
        non_retryable_error_types=[STEP_INVALID],
    )


def _timeout(step: d.ActionStep) -> timedelta:
    if step.timeout is not None:
        return timedelta(seconds=step.timeout)
    if isinstance(step, d.HttpRequestStep):
        return timedelta(seconds=step.params.timeout) + HTTP_TIMEOUT_MARGIN
    return DEFAULT_ACTION_TIMEOUT
