"""AutomationScheduleWorkflow: what an automation's Temporal Schedule starts at each fire.

It asks ``automation.prepare_child_run`` for a run (trigger ``schedule``, the latest version,
through the automation's flow control), then runs that run's ``AutomationRunWorkflow`` as
its child and waits for it. Waiting is the point: the schedule's overlap policy (skip,
buffer one, allow all) looks at this workflow, so it applies to the run itself.

The dedupe key is the fire's scheduled time, so a retried activity finds the run it
created and a fire never starts two runs.
"""

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import CancelledError, ChildWorkflowError, FailureError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from workflows.automation.run import contracts as run_contracts
    from workflows.automation.schedule.contracts import (
        WORKFLOW_NAME,
        FireResult,
        ScheduleFire,
        dedupe_key,
    )

# Temporal sets it on every workflow a schedule starts: the fire's nominal time.
SCHEDULED_TIME_KEY = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")

_PREPARE_TIMEOUT = timedelta(seconds=30)
# Postgres may be briefly away; a fire keeps trying for about an hour rather than being lost.
_PREPARE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=60,
)


@workflow.defn(name=WORKFLOW_NAME)
class AutomationScheduleWorkflow:
    @workflow.run
    async def run(self, fire: ScheduleFire) -> FireResult:
        info = workflow.info()
        # Started directly (tests, a manual start in the Web UI) it has no scheduled time:
        # its own start time is as stable across replays and retries.
        scheduled_at = info.typed_search_attributes.get(SCHEDULED_TIME_KEY) or info.start_time
        prepared: run_contracts.ChildRunPrepared = await workflow.execute_activity(
            run_contracts.PREPARE_CHILD_RUN_ACTIVITY,
            run_contracts.ChildRunRequest(
                firm_id=fire.firm_id,
                automation_id=fire.automation_id,
                payload=None,
                trigger="schedule",
                dedupe_key=dedupe_key(scheduled_at),
                caller_firm_id=fire.firm_id,
            ),
            result_type=run_contracts.ChildRunPrepared,
            start_to_close_timeout=_PREPARE_TIMEOUT,
            retry_policy=_PREPARE_RETRY,
        )
        result = FireResult(
            scheduled_at=scheduled_at,
            admission=prepared.admission,
            run_id=prepared.run_id,
            reason=prepared.reason,
        )
        if prepared.admission != "running" or prepared.input is None or prepared.run_id is None:
            return result
        try:
            outcome: run_contracts.RunResult = await workflow.execute_child_workflow(
                run_contracts.WORKFLOW_NAME,
                prepared.input,
                id=run_contracts.workflow_id(prepared.run_id),
                result_type=run_contracts.RunResult,
                search_attributes=prepared.input.search_attributes().typed(),
                # Terminating this workflow (by hand, in the Web UI) must not kill the run
                # behind firmflow's back and leave its row "running" for ever.
                parent_close_policy=ParentClosePolicy.ABANDON,
            )
        except ChildWorkflowError as err:
            if workflow.cancellation_reason() is not None:
                # This fire was canceled (its run with it): it ends canceled too.
                raise asyncio.CancelledError("the fire was canceled") from err
            # The run recorded its own failure or cancellation; the fire itself went fine.
            cause = err.cause
            result.status = "canceled" if isinstance(cause, CancelledError) else "failed"
            result.reason = cause.message if isinstance(cause, FailureError) else err.message
            return result
        result.status = outcome.status
        return result
