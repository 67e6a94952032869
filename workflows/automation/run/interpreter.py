"""The interpreter every automation workflow shares: it walks a graph of steps, evaluates
control steps itself, runs each action step as one activity, and hands the flow steps
(``call_automation``, ``wait_for_event``, ``approval``, ``foreach``) to the handlers its
workflow registers, since those need the workflow's signals and child workflows.

One ``Interpreter`` walks the run's own graph; a foreach runs one per item over the body,
with step ids prefixed ``<foreach>.<index>.`` and the foreach step's position, so an
item's records and idempotency keys are its own.

The control steps are evaluated in steps/control.py, the activity an action step runs as is
set up in steps/action.py, and the ways a step fails or stops the walk are in
steps/failures.py; expressions go through steps/expressions.py, which reads no clock and no
randomness, so a replay evaluates to the same values.
"""

from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any, NoReturn

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from services.expressions import ExpressionError
    from workflows.automation.definition import steps as d
    from workflows.automation.run.contracts import RunInput, RunStatusName, RunView, StepRecord
    from workflows.automation.run.state import RunState, WaitState

from workflows.automation.run.steps.action import execute_action, step_call, succeeded_record
from workflows.automation.run.steps.control import run_control
from workflows.automation.run.steps.failures import StepFailure, StopRun

# Bounds a walk gone wrong (a definition has no cycles, but goto edges on error may loop).
MAX_STEP_EXECUTIONS = 10_000


# A flow step's handler: (interpreter, step id, step, visit, started) → (output, next step).
# It raises StepFailure or StopRun like any step.
FlowHandler = Callable[["Interpreter", str, Any, int, datetime], Awaitable[tuple[Any, str | None]]]
# Awaited before each step but the first of a walk, with the step about to run: the run
# workflow continues as new there when its history has grown long.
Checkpoint = Callable[[str], Awaitable[None]]


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
                # Foreach items share the run's view with the foreach's own wait.
                view = None if self.step_prefix else self.view
                output, next_step = await run_control(
                    step_id, step, self.context, time_zone=self.input.firm_time_zone, view=view
                )
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

    def written(self, call_pending: list[StepRecord]) -> None:
        """The records an activity wrote with its own row leave the pending list."""
        self.pending = self.pending[len(call_pending) :]

    async def _action(self, step_id: str, step: Any, visit: int, started: datetime) -> str | None:
        call = step_call(
            self.input,
            self.record_id(step_id),
            step,
            visit=visit,
            position=self.position,
            context=self.context,
            started=started,
            pending=self.pending,
        )
        try:
            outcome = await execute_action(step, call)
        except StepFailure as failure:
            self.fail(step_id, step, visit, started, failure)
        self.written(call.pending)
        self.view.steps.append(succeeded_record(call, outcome))
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
