"""AutomationRunWorkflow: interprets one run of a published automation version.

The definition arrives in the input (pinned at start), so publishing a new version never
changes a run in flight. Control steps (condition, switch, set, delay, stop) are evaluated
here, with no activity and no round trip; each action step is one activity that performs its
effect and records its own step row (workflows/automation/contracts.py). The records of
control steps and failures travel with the next activity, or with the closing
``finish_run`` local activity, so a run of three actions costs three activities.

Expressions are evaluated by services.expressions, whose environment reads no clock and no
randomness, so a replay evaluates to the same values. The expression and definition modules
are passed through the sandbox: they are pure, and sharing them keeps one compile cache and
one set of pydantic models for every run on the worker.
"""

import asyncio
import json
from collections import Counter
from datetime import datetime, timedelta
from typing import Any, NoReturn

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ActivityError, ApplicationError, TimeoutError

with workflow.unsafe.imports_passed_through():
    from services import expressions
    from services.expressions import ExpressionError
    from workflows.automation import definition as d
    from workflows.automation.contracts import (
        FINISH_ACTIVITY,
        SA_AUTOMATION,
        SA_FIRM,
        SA_STATUS,
        SA_VERSION,
        STEP_INVALID,
        WORKFLOW_NAME,
        FinishRun,
        RunInput,
        RunResult,
        RunStatusName,
        RunView,
        StepCall,
        StepOutcome,
        StepRecord,
        action_activity,
    )
    from workflows.automation.until import UntilError, parse_until

# A definition has no cycles (issue 3), so this only bounds a loop gone wrong later.
MAX_STEP_EXECUTIONS = 10_000
DEFAULT_ACTION_TIMEOUT = timedelta(seconds=60)
# An HTTP step's own deadline plus room to record the result.
HTTP_TIMEOUT_MARGIN = timedelta(seconds=10)
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


class StepFailure(Exception):
    """A step that failed for good (after its retries); its ``on_error`` decides what next."""

    def __init__(self, message: str, *, attempt: int = 1, input: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.attempt = attempt
        self.input = input


class StopRun(Exception):
    """A ``stop`` step: the run ends here with ``status``."""

    def __init__(self, status: RunStatusName, message: str | None) -> None:
        super().__init__(message or status)
        self.status = status
        self.message = message


def _evaluate(expression: str, context: dict[str, Any]) -> Any:
    # jinja2 imports some of its modules lazily while compiling; passing them through keeps
    # the sandbox from importing a second, restricted copy of jinja2.
    with workflow.unsafe.imports_passed_through():
        return expressions.evaluate(expression, context)


def _render(params: Any, context: dict[str, Any]) -> Any:
    with workflow.unsafe.imports_passed_through():
        rendered = expressions.render_params(params, context)
        expressions.check_output_size(rendered)
        return rendered


def _context_for(params: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    """The context an action's activity gets: only the step outputs its params read (all
    of them when it reads ``steps`` by a computed name). Earlier outputs, up to 256 KB
    each, would otherwise travel in every later activity input and history event."""
    with workflow.unsafe.imports_passed_through():
        wanted = expressions.step_names_in_params(params)
    if wanted is None:
        return context
    steps = context["steps"]
    return {**context, "steps": {name: steps[name] for name in wanted if name in steps}}


def _retry_policy(step: d.Step) -> RetryPolicy:
    policy = step.retry or d.RetryPolicy()
    return RetryPolicy(
        initial_interval=timedelta(seconds=policy.initial_interval),
        backoff_coefficient=policy.backoff,
        maximum_interval=timedelta(seconds=policy.max_interval),
        maximum_attempts=policy.max_attempts,
        non_retryable_error_types=[STEP_INVALID],
    )


def _timeout(step: d.Step) -> timedelta:
    if step.timeout is not None:
        return timedelta(seconds=step.timeout)
    if isinstance(step, d.HttpRequestStep):
        return timedelta(seconds=step.params.timeout) + HTTP_TIMEOUT_MARGIN
    return DEFAULT_ACTION_TIMEOUT


def _failure(err: ActivityError) -> StepFailure:
    cause = err.cause
    if isinstance(cause, ApplicationError):
        details = cause.details[0] if cause.details else {}
        if not isinstance(details, dict):
            details = {}
        return StepFailure(
            cause.message, attempt=int(details.get("attempt", 1)), input=details.get("input")
        )
    if isinstance(cause, TimeoutError):
        return StepFailure("the step did not finish within its timeout")
    return StepFailure("the step failed")


def _case_key(value: Any) -> str:
    """How a switch value names its case: strings as they are, anything else as JSON
    (``1``, ``true``, ``null``)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


@workflow.defn(name=WORKFLOW_NAME)
class AutomationRunWorkflow:
    def __init__(self) -> None:
        self._view = RunView(status="running")
        self._pending: list[StepRecord] = []
        self._position = 0

    @workflow.query
    def progress(self) -> RunView:
        return self._view

    @workflow.run
    async def run(self, input: RunInput) -> RunResult:
        self._input = input
        definition = d.Definition.model_validate(input.definition)
        workflow.upsert_search_attributes(
            [
                FIRM_KEY.value_set(str(input.firm_id)),
                AUTOMATION_KEY.value_set(str(input.automation_id)),
                VERSION_KEY.value_set(input.version),
                STATUS_KEY.value_set("running"),
            ]
        )
        self._context: dict[str, Any] = {
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
        status: RunStatusName = "succeeded"
        error: dict[str, Any] | None = None
        try:
            status, error = await self._walk(definition)
        except asyncio.CancelledError:
            status, error = "canceled", None
        await self._finish(status, error)
        if status == "canceled":
            raise asyncio.CancelledError("the run was canceled")
        if status == "failed":
            message = (error or {}).get("message") or "the run failed"
            raise ApplicationError(message, error, type="RunFailed", non_retryable=True)
        return RunResult(status=status, error=error)

    async def _walk(self, definition: d.Definition) -> tuple[RunStatusName, dict[str, Any] | None]:
        visits: Counter[str] = Counter()
        current: str | None = definition.start
        executed = 0
        while current is not None:
            executed += 1
            if executed > MAX_STEP_EXECUTIONS:
                return "failed", {
                    "step": current,
                    "message": f"the run executed more than {MAX_STEP_EXECUTIONS} steps",
                }
            step = definition.steps[current]
            visits[current] += 1
            self._position = executed
            self._view.current_step = current
            try:
                current = await self._step(current, step, visits[current])
            except StopRun as stop:
                if stop.status == "failed":
                    return "failed", {
                        "step": self._view.current_step,
                        "message": stop.message or "stopped",
                    }
                return "succeeded", None
            except StepFailure as failure:
                step_id = self._view.current_step
                assert step_id is not None
                self._context["steps"][step_id] = {"output": None, "error": failure.message}
                if step.on_error == "fail":
                    return "failed", {"step": step_id, "message": failure.message}
                if step.on_error == "continue":
                    current = getattr(step, "next", None)
                else:
                    current = step.on_error.goto
        self._view.current_step = None
        return "succeeded", None

    async def _step(self, step_id: str, step: d.Step, visit: int) -> str | None:
        started = workflow.now()
        reused = self._input.reuse.get(f"{step_id}#{visit}")
        if reused is not None and step.type in d.ACTION_TYPES | {"delay"}:
            self._record(step_id, step, visit, started, "reused", reused.input, reused.output)
            self._context["steps"][step_id] = {"output": reused.output}
            return getattr(step, "next", None)
        if step.type in d.ACTION_TYPES:
            return await self._action(step_id, step, visit, started)
        try:
            output, next_step = await self._control(step)
        except ExpressionError as exc:
            self._fail(step_id, step, visit, started, StepFailure(exc.message))
        except StepFailure as failure:
            self._fail(step_id, step, visit, started, failure)
        except StopRun as stop:
            output = {"status": stop.status, "message": stop.message}
            self._record(step_id, step, visit, started, "succeeded", None, output)
            raise
        self._record(step_id, step, visit, started, "succeeded", None, output)
        self._context["steps"][step_id] = {"output": output}
        return next_step

    async def _control(self, step: d.Step) -> tuple[Any, str | None]:
        context = self._context
        if isinstance(step, d.ConditionStep):
            result = bool(_evaluate(step.params.expression, context))
            return {"result": result}, step.then if result else step.else_
        if isinstance(step, d.SwitchStep):
            value = _evaluate(step.params.value, context)
            key = _case_key(value)
            matched = key if key in step.cases else None
            target = step.cases[matched] if matched is not None else step.default
            return {"value": value, "case": matched}, target
        if isinstance(step, d.SetStep):
            values = _render(dict(step.params.vars), context)
            context["vars"].update(values)
            return values, step.next
        if isinstance(step, d.DelayStep):
            return await self._delay(step), step.next
        if isinstance(step, d.StopStep):
            message = step.params.message
            rendered = None if message is None else str(_render(message, context))
            raise StopRun(step.params.status, rendered)
        raise StepFailure(f"unknown step type {step.type!r}")

    async def _delay(self, step: d.DelayStep) -> dict[str, Any]:
        now = workflow.now()
        if step.params.seconds is not None:
            seconds = step.params.seconds
        else:
            assert step.params.until is not None
            try:
                until = parse_until(
                    _render(step.params.until, self._context), self._input.firm_time_zone
                )
            except UntilError as exc:
                raise StepFailure(str(exc)) from exc
            seconds = max(0.0, (until - now).total_seconds())
        if seconds > 0:
            await workflow.sleep(timedelta(seconds=seconds))
        return {"until": (now + timedelta(seconds=seconds)).isoformat(), "seconds": seconds}

    async def _action(
        self, step_id: str, step: d.Step, visit: int, started: datetime
    ) -> str | None:
        sent = list(self._pending)
        params = step.params.model_dump(mode="json", by_alias=True)
        call = StepCall(
            run_id=self._input.run_id,
            firm_id=self._input.firm_id,
            step_id=step_id,
            step_type=step.type,
            visit=visit,
            position=self._position,
            params=params,
            context=_context_for(params, self._context),
            started_at=started,
            pending=sent,
        )
        try:
            outcome = await workflow.execute_activity(
                action_activity(step.type),
                call,
                result_type=StepOutcome,
                start_to_close_timeout=_timeout(step),
                retry_policy=_retry_policy(step),
            )
        except ActivityError as err:
            if isinstance(err.cause, asyncio.CancelledError):
                raise asyncio.CancelledError from err
            self._fail(step_id, step, visit, started, _failure(err))
        # The activity wrote these records with its own step row.
        self._pending = self._pending[len(sent) :]
        self._view.steps.append(
            StepRecord(
                step_id=step_id,
                step_type=step.type,
                visit=visit,
                position=self._position,
                status="succeeded",
                attempt=outcome.attempt,
                input=outcome.input,
                output=outcome.output,
                started_at=started,
                finished_at=workflow.now(),
            )
        )
        self._context["steps"][step_id] = {"output": outcome.output}
        return getattr(step, "next", None)

    def _record(
        self,
        step_id: str,
        step: d.Step,
        visit: int,
        started: datetime,
        status: str,
        input: Any,
        output: Any,
        *,
        attempt: int = 1,
        error: str | None = None,
    ) -> None:
        record = StepRecord.model_validate(
            {
                "step_id": step_id,
                "step_type": step.type,
                "visit": visit,
                "position": self._position,
                "status": status,
                "attempt": attempt,
                "input": input,
                "output": output,
                "error": error,
                "started_at": started,
                "finished_at": workflow.now(),
            }
        )
        self._pending.append(record)
        self._view.steps.append(record)

    def _fail(
        self, step_id: str, step: d.Step, visit: int, started: datetime, failure: StepFailure
    ) -> NoReturn:
        self._record(
            step_id,
            step,
            visit,
            started,
            "failed",
            failure.input,
            None,
            attempt=failure.attempt,
            error=failure.message,
        )
        raise failure

    async def _finish(self, status: RunStatusName, error: dict[str, Any] | None) -> None:
        await workflow.execute_local_activity(
            FINISH_ACTIVITY,
            FinishRun(
                run_id=self._input.run_id,
                firm_id=self._input.firm_id,
                status=status,
                error=error,
                pending=self._pending,
            ),
            start_to_close_timeout=_FINISH_TIMEOUT,
            retry_policy=_FINISH_RETRY,
        )
        self._pending = []
        self._view.status = status
        self._view.error = error
        self._view.current_step = None
        workflow.upsert_search_attributes([STATUS_KEY.value_set(status)])
