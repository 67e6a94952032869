"""AutomationRunWorkflow: interprets one run of a published automation version.

The definition arrives in the input (pinned at start), so publishing a new version never
changes a run in flight. The walk itself is workflows/automation/run/interpreter.py; this
workflow adds what belongs to a whole run: its search attributes, the live view, and the
closing ``finish_run`` local activity that writes the remaining records and the outcome,
so a run of three actions costs three activities. It also owns what a long run needs: the
``event`` and ``approval_decided`` signals its waits consume (waits.py), the called runs
(call.py), and continue-as-new when its history grows long, carrying where it stands
(state.py) under the same workflow id, so signals and the API keep reaching it and
``finish_run`` runs once, at the very end.

The expression and definition modules are passed through the sandbox: they are pure, and
sharing them keeps one compile cache and one set of pydantic models for every run on the
worker.
"""

import asyncio
from datetime import timedelta
from typing import Any, NoReturn

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from core.search_attributes import (
        SA_AUTOMATION,
        SA_FIRM,
        SA_PROCESS,
        SA_STATUS,
        SA_VERSION,
    )
    from workflows.automation import definition as d
    from workflows.automation.run.contracts import (
        APPROVAL_SIGNAL,
        EVENT_SIGNAL,
        FINISH_ACTIVITY,
        PROGRESS_QUERY,
        WORKFLOW_NAME,
        ApprovalResult,
        FinishRun,
        RunEvent,
        RunInput,
        RunResult,
        RunStatusName,
        RunView,
    )
    from workflows.automation.run.state import RunState, WaitState

# Workflow code itself (it calls workflow APIs), so it runs inside the sandbox.
from workflows.automation.run.call import call_automation
from workflows.automation.run.flow import FlowHandlers
from workflows.automation.run.foreach.step import run_foreach
from workflows.automation.run.interpreter import Interpreter
from workflows.automation.run.waits import Waits, continue_as_new_due

_FINISH_TIMEOUT = timedelta(seconds=30)
_FINISH_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=20,
)

FIRM_KEY = SearchAttributeKey.for_keyword(SA_FIRM)
AUTOMATION_KEY = SearchAttributeKey.for_keyword(SA_AUTOMATION)
VERSION_KEY = SearchAttributeKey.for_int(SA_VERSION)
STATUS_KEY = SearchAttributeKey.for_keyword(SA_STATUS)
PROCESS_KEY = SearchAttributeKey.for_keyword(SA_PROCESS)


@workflow.defn(name=WORKFLOW_NAME)
class AutomationRunWorkflow:
    def __init__(self) -> None:
        self._view = RunView(status="running")
        # Signals may come before the run method starts: the buffer exists from the first.
        self._waits = Waits()

    @workflow.query(name=PROGRESS_QUERY)
    def progress(self) -> RunView:
        return self._view

    @workflow.signal(name=EVENT_SIGNAL)
    def event(self, event: RunEvent) -> None:
        self._waits.receive(event)

    @workflow.signal(name=APPROVAL_SIGNAL)
    def approval_decided(self, result: ApprovalResult) -> None:
        self._waits.decided(result)

    @workflow.run
    async def run(self, input: RunInput) -> RunResult:
        self._input = input
        definition = d.Definition.model_validate(input.definition)
        # Runs are started with their attributes (RunInput.search_attributes). One started
        # before that (its history holds this upsert) sets them itself. The start event
        # decides, so replay takes the same branch, and a new run pays for neither a patch
        # marker nor the TemporalChangeVersion upsert that workflow.patched would add.
        if workflow.info().typed_search_attributes.get(PROCESS_KEY) is None:
            workflow.upsert_search_attributes(
                [
                    FIRM_KEY.value_set(str(input.firm_id)),
                    AUTOMATION_KEY.value_set(str(input.automation_id)),
                    VERSION_KEY.value_set(input.version),
                    STATUS_KEY.value_set("running"),
                ]
            )
        context: dict[str, Any] = {
            "trigger": input.trigger,
            "steps": {},
            "vars": {},
            "run": {
                "id": str(input.run_id),
                "version": input.version,
                "started_at": input.started_at.isoformat(),
            },
            "firm": {"id": str(input.firm_id), "time_zone": input.firm_time_zone},
        }
        flow = FlowHandlers(
            call_automation=call_automation,
            wait_for_event=self._waits.wait_for_event,
            approval=self._waits.approval,
            foreach=run_foreach,
        )
        self._interpreter = Interpreter(
            input, self._view, context, flow=flow, checkpoint=self._checkpoint
        )
        self._waits.continue_waiting = self._continue_waiting
        start = definition.start
        if input.state is not None:
            state = RunState.model_validate(input.state)
            self._interpreter.restore(state)
            self._waits.restore(state)
            start = state.next_step
        status: RunStatusName = "succeeded"
        error: dict[str, Any] | None = None
        try:
            status, error = await self._interpreter.walk(definition.steps, start)
        except asyncio.CancelledError:
            status, error = "canceled", None
        await self._finish(status, error)
        if status == "canceled":
            raise asyncio.CancelledError("the run was canceled")
        if status == "failed":
            message = (error or {}).get("message") or "the run failed"
            raise ApplicationError(message, error, type="RunFailed", non_retryable=True)
        return RunResult(status=status, error=error, output=self._interpreter.last_output)

    async def _checkpoint(self, next_step: str) -> None:
        if continue_as_new_due():
            await self._continue_as_new(self._interpreter.snapshot(next_step))

    async def _continue_waiting(self, wait: WaitState) -> NoReturn:
        await self._continue_as_new(self._interpreter.snapshot(wait.step_id, wait))

    async def _continue_as_new(self, state: RunState) -> NoReturn:
        # A signal handled meanwhile lands in the buffer that travels with the state.
        await workflow.wait_condition(workflow.all_handlers_finished)
        carried = state.model_copy(update=self._waits.dump())
        workflow.continue_as_new(
            self._input.model_copy(update={"state": carried.model_dump(mode="json")})
        )

    async def _finish(self, status: RunStatusName, error: dict[str, Any] | None) -> None:
        await workflow.execute_local_activity(
            FINISH_ACTIVITY,
            FinishRun(
                run_id=self._input.run_id,
                firm_id=self._input.firm_id,
                status=status,
                error=error,
                pending=self._interpreter.pending,
            ),
            start_to_close_timeout=_FINISH_TIMEOUT,
            retry_policy=_FINISH_RETRY,
        )
        self._interpreter.pending = []
        self._view.status = status
        self._view.error = error
        self._view.current_step = None
        workflow.upsert_search_attributes([STATUS_KEY.value_set(status)])
