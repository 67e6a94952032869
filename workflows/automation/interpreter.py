"""The interpreter every automation workflow shares: it walks a graph of steps, evaluates
control steps itself, runs each action step as one activity, and hands the flow steps
(``call_automation``, ``wait_for_event``, ``approval``, ``foreach``) to the handlers its
workflow registers, since those need the workflow's signals and child workflows.

One ``Interpreter`` walks the run's own graph; a foreach runs one per item over the body,
with step ids prefixed ``<foreach>.<index>.`` and the foreach step's position, so an
item's records and idempotency keys are its own.

Expressions are evaluated by services.expressions, whose environment reads no clock and no
randomness, so a replay evaluates to the same values.
"""

import asyncio
import json
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, NoReturn

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, TimeoutError

with workflow.unsafe.imports_passed_through():
    from services import expressions
    from services.expressions import ExpressionError
    from workflows.automation import definition_steps as d
    from workflows.automation.contracts import (
        STEP_INVALID,
        RunInput,
        RunStatusName,
        RunView,
        StepCall,
        StepOutcome,
        StepRecord,
        WaitView,
        action_activity,
    )
    from workflows.automation.state import RunState, WaitState
    from workflows.automation.until import UntilError, parse_until

# Bounds a walk gone wrong (a definition has no cycles, but goto edges on error may loop).
MAX_STEP_EXECUTIONS = 10_000
DEFAULT_ACTION_TIMEOUT = timedelta(seconds=60)
# An HTTP step's own deadline plus room to record the result.
HTTP_TIMEOUT_MARGIN = timedelta(seconds=10)


class StepFailure(Exception):
    """A step that failed for good (after its retries); its ``on_error`` decides what next."""

    def __init__(self, message: str, *, attempt: int = 1, input: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.attempt = attempt
        self.input = input


class StopRun(Exception):
    """A ``stop`` step (or a rejection without a branch): the walk ends with ``status``."""

    def __init__(self, status: RunStatusName, message: str | None) -> None:
        super().__init__(message or status)
        self.status = status
        self.message = message


# A flow step's handler: (interpreter, step id, step, visit, started) → (output, next step).
# It raises StepFailure or StopRun like any step.
FlowHandler = Callable[["Interpreter", str, Any, int, datetime], Awaitable[tuple[Any, str | None]]]
# Awaited before each step but the first of a walk, with the step about to run: the run
# workflow continues as new there when its history has grown long.
Checkpoint = Callable[[str], Awaitable[None]]


def evaluate(expression: str, context: dict[str, Any]) -> Any:
    # jinja2 imports some of its modules lazily while compiling; passing them through keeps
    # the sandbox from importing a second, restricted copy of jinja2.
    with workflow.unsafe.imports_passed_through():
        return expressions.evaluate(expression, context)


def render(params: Any, context: dict[str, Any]) -> Any:
    with workflow.unsafe.imports_passed_through():
        rendered = expressions.render_params(params, context)
        expressions.check_output_size(rendered)
        return rendered


def context_for(params: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    """The context an activity gets: only the step outputs its params read (all of them
    when it reads ``steps`` by a computed name). Earlier outputs, up to 256 KB each, would
    otherwise travel in every later activity input and history event."""
    with workflow.unsafe.imports_passed_through():
        wanted = expressions.step_names_in_params(params)
    if wanted is None:
        return context
    steps = context["steps"]
    return {**context, "steps": {name: steps[name] for name in wanted if name in steps}}


def run_canceled() -> bool:
    """Whether the run was asked to cancel. An activity or child workflow it awaited then
    ends in an error whose cause is Temporal's CancelledError; that is the run's cancel,
    not a failure of the step."""
    return workflow.cancellation_reason() is not None


def retry_policy(step: Any) -> RetryPolicy:
    policy = step.retry or d.RetryPolicy()
    return RetryPolicy(
        initial_interval=timedelta(seconds=policy.initial_interval),
        backoff_coefficient=policy.backoff,
        maximum_interval=timedelta(seconds=policy.max_interval),
        maximum_attempts=policy.max_attempts,
        non_retryable_error_types=[STEP_INVALID],
    )


def _timeout(step: Any) -> timedelta:
    if step.timeout is not None:
        return timedelta(seconds=step.timeout)
    if isinstance(step, d.HttpRequestStep):
        return timedelta(seconds=step.params.timeout) + HTTP_TIMEOUT_MARGIN
    return DEFAULT_ACTION_TIMEOUT


def activity_failure(err: ActivityError) -> StepFailure:
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


class Interpreter:
    def __init__(
        self,
        input: RunInput,
        view: RunView,
        context: dict[str, Any],
        *,
        flow: Mapping[str, FlowHandler] | None = None,
        step_prefix: str = "",
        fixed_position: int | None = None,
        checkpoint: Checkpoint | None = None,
    ) -> None:
        self.input = input
        self.view = view
        self.context = context
        self.flow: Mapping[str, FlowHandler] = flow or {}
        self.step_prefix = step_prefix
        self.fixed_position = fixed_position
        # Records of control steps and failures not yet written: they travel with the next
        # activity, or with whatever closes the run.
        self.pending: list[StepRecord] = []
        self.position = 0
        self.visits: Counter[str] = Counter()
        # The step being executed (unprefixed), and the step after the last one executed.
        self.current: str | None = None
        # The output of the last step executed (a foreach item's output).
        self.last_output: Any = None
        self.executed = 0
        self.checkpoint = checkpoint
        # The wait a step was in when the run continued as new; that step resumes it.
        self.resume_wait: WaitState | None = None

    def record_id(self, step_id: str) -> str:
        return self.step_prefix + step_id

    async def walk(
        self, steps: Mapping[str, Any], start: str | None
    ) -> tuple[RunStatusName, dict[str, Any] | None]:
        """Walk from ``start`` until no next step; ``(status, error)``."""
        current = start
        first = True
        while current is not None:
            if self.checkpoint is not None and not first:
                await self.checkpoint(current)
            first = False
            step_id = current
            self.executed += 1
            if self.executed > MAX_STEP_EXECUTIONS:
                return "failed", {
                    "step": self.record_id(step_id),
                    "message": f"the run executed more than {MAX_STEP_EXECUTIONS} steps",
                }
            step = steps[step_id]
            self.visits[step_id] += 1
            self.position = self.fixed_position or self.position + 1
            self.current = step_id
            self.view.current_step = self.record_id(step_id)
            try:
                current = await self.step(step_id, step, self.visits[step_id])
            except StopRun as stop:
                if stop.status == "failed":
                    return "failed", {
                        "step": self.record_id(step_id),
                        "message": stop.message or "stopped",
                    }
                return "succeeded", None
            except StepFailure as failure:
                self.context["steps"][step_id] = {"output": None, "error": failure.message}
                if step.on_error == "fail":
                    return "failed", {"step": self.record_id(step_id), "message": failure.message}
                if step.on_error == "continue":
                    current = getattr(step, "next", None)
                else:
                    current = step.on_error.goto
        self.current = None
        self.view.current_step = None
        return "succeeded", None

    def restore(self, state: RunState) -> None:
        """Continue where a previous execution of the run stopped."""
        self.visits = Counter(state.visits)
        self.position = state.position
        self.executed = state.executed
        self.context = state.context
        self.last_output = state.last_output
        self.pending = list(state.pending)
        self.view.steps = list(state.pending)
        self.resume_wait = state.wait

    def snapshot(self, next_step: str, wait: WaitState | None = None) -> RunState:
        """Where the run stands before ``next_step``; with ``wait``, ``next_step`` is the
        step waiting, which is taken back so that the next execution runs it again."""
        visits = dict(self.visits)
        position, executed = self.position, self.executed
        if wait is not None:
            visits[wait.step_id] -= 1
            executed -= 1
            if self.fixed_position is None:
                position -= 1
        return RunState(
            next_step=next_step,
            visits=visits,
            position=position,
            executed=executed,
            context=self.context,
            last_output=self.last_output,
            pending=self.pending,
            wait=wait,
        )

    def resumed(self, step_id: str, visit: int) -> WaitState | None:
        """The wait this step visit was in before the run continued as new, taken once."""
        wait = self.resume_wait
        if wait is None or wait.step_id != step_id or wait.visit != visit:
            return None
        self.resume_wait = None
        return wait

    async def step(self, step_id: str, step: Any, visit: int) -> str | None:
        started = workflow.now()
        wait = self.resume_wait
        if wait is not None and wait.step_id == step_id and wait.visit == visit:
            started = wait.started_at
        reused = self.input.reuse.get(f"{self.record_id(step_id)}#{visit}")
        if reused is not None and step.type in d.ACTION_TYPES | {"delay"}:
            self.record(step_id, step, visit, started, "reused", reused.input, reused.output)
            self.context["steps"][step_id] = {"output": reused.output}
            self.last_output = reused.output
            return self._linear_next(step)
        if step.type in d.ACTION_TYPES:
            return await self._action(step_id, step, visit, started)
        try:
            if step.type in d.FLOW_TYPES:
                handler = self.flow.get(step.type)
                if handler is None:
                    raise StepFailure(f"a {step.type} step cannot run here")
                output, next_step = await handler(self, step_id, step, visit, started)
            else:
                output, next_step = await self._control(step_id, step)
        except ExpressionError as exc:
            self.fail(step_id, step, visit, started, StepFailure(exc.message))
        except StepFailure as failure:
            self.fail(step_id, step, visit, started, failure)
        except StopRun as stop:
            output = {"status": stop.status, "message": stop.message}
            self.record(step_id, step, visit, started, "succeeded", None, output)
            raise
        self.record(step_id, step, visit, started, "succeeded", None, output)
        self.context["steps"][step_id] = {"output": output}
        self.last_output = output
        return next_step

    @staticmethod
    def _linear_next(step: Any) -> str | None:
        next_step: str | None = getattr(step, "next", None)
        return next_step

    async def _control(self, step_id: str, step: Any) -> tuple[Any, str | None]:
        context = self.context
        if isinstance(step, d.ConditionStep):
            result = bool(evaluate(step.params.expression, context))
            return {"result": result}, step.then if result else step.else_
        if isinstance(step, d.SwitchStep):
            value = evaluate(step.params.value, context)
            key = _case_key(value)
            matched = key if key in step.cases else None
            target = step.cases[matched] if matched is not None else step.default
            return {"value": value, "case": matched}, target
        if isinstance(step, d.SetStep):
            values = render(dict(step.params.vars), context)
            context["vars"].update(values)
            return values, step.next
        if isinstance(step, d.DelayStep):
            return await self._delay(step_id, step), step.next
        if isinstance(step, d.StopStep):
            message = step.params.message
            rendered = None if message is None else str(render(message, context))
            raise StopRun(step.params.status, rendered)
        raise StepFailure(f"unknown step type {step.type!r}")

    async def _delay(self, step_id: str, step: d.DelayStep) -> dict[str, Any]:
        now = workflow.now()
        if step.params.seconds is not None:
            seconds = step.params.seconds
        else:
            assert step.params.until is not None
            try:
                until = parse_until(
                    render(step.params.until, self.context), self.input.firm_time_zone
                )
            except UntilError as exc:
                raise StepFailure(str(exc)) from exc
            seconds = max(0.0, (until - now).total_seconds())
        wakes_at = now + timedelta(seconds=seconds)
        if seconds > 0:
            # Foreach items share the run's view with the foreach's own wait.
            shown = not self.step_prefix
            if shown:
                self.view.waiting = WaitView(kind="timer", step_id=step_id, wakes_at=wakes_at)
            try:
                await workflow.sleep(timedelta(seconds=seconds))
            finally:
                if shown:
                    self.view.waiting = None
        return {"until": wakes_at.isoformat(), "seconds": seconds}

    def step_call(self, step_id: str, step: Any, visit: int, started: datetime) -> StepCall:
        """The input of an action activity; it carries (and then owns) the pending records."""
        params = step.params.model_dump(mode="json", by_alias=True)
        return StepCall(
            run_id=self.input.run_id,
            firm_id=self.input.firm_id,
            step_id=self.record_id(step_id),
            step_type=step.type,
            visit=visit,
            position=self.position,
            params=params,
            context=context_for(params, self.context),
            started_at=started,
            pending=list(self.pending),
        )

    def written(self, call_pending: list[StepRecord]) -> None:
        """The records an activity wrote with its own row leave the pending list."""
        self.pending = self.pending[len(call_pending) :]

    async def _action(self, step_id: str, step: Any, visit: int, started: datetime) -> str | None:
        call = self.step_call(step_id, step, visit, started)
        try:
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
            self.fail(step_id, step, visit, started, activity_failure(err))
        self.written(call.pending)
        self.view.steps.append(
            StepRecord(
                step_id=self.record_id(step_id),
                step_type=step.type,
                visit=visit,
                position=self.position,
                status="succeeded",
                attempt=outcome.attempt,
                input=outcome.input,
                output=outcome.output,
                started_at=started,
                finished_at=workflow.now(),
            )
        )
        self.context["steps"][step_id] = {"output": outcome.output}
        self.last_output = outcome.output
        return self._linear_next(step)

    def record(
        self,
        step_id: str,
        step: Any,
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
                "step_id": self.record_id(step_id),
                "step_type": step.type,
                "visit": visit,
                "position": self.position,
                "status": status,
                "attempt": attempt,
                "input": input,
                "output": output,
                "error": error,
                "started_at": started,
                "finished_at": workflow.now(),
            }
        )
        self.pending.append(record)
        self.view.steps.append(record)

    def fail(
        self, step_id: str, step: Any, visit: int, started: datetime, failure: StepFailure
    ) -> NoReturn:
        self.record(
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
