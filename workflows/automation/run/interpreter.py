"""The interpreter every automation workflow shares: it walks a graph of steps, evaluates
control steps itself, runs each action step as one activity, and hands the flow steps
(``call_automation``, ``wait_for_event``, ``approval``, ``foreach``) to the handlers its
workflow registers (``FlowHandlers``), since those need the workflow's signals and child
workflows. It dispatches on the definition's step models: action, control or flow step.

One ``Interpreter`` walks the run's own graph; a foreach runs one per item over the body,
with step ids prefixed ``<foreach>.<index>.`` and the foreach step's position, so an
item's records and idempotency keys are its own.

A flow handler sees the run through ``RunScope`` (flow.py), which the interpreter
implements. The control steps are evaluated in steps/control.py, the activity an action
step runs as is set up in steps/action.py, and the ways a step fails or stops the walk are
in steps/failures.py; expressions go through steps/expressions.py, which reads no clock and
no randomness, so a replay evaluates to the same values.
"""

from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, NoReturn

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from pure.expressions import ExpressionError
    from workflows.automation.definition import steps as d
    from workflows.automation.run.contracts import (
        RunInput,
        RunStatusName,
        RunView,
        StepRecord,
        WaitView,
    )
    from workflows.automation.run.state import RunState, WaitState

from workflows.automation.run.flow import FlowHandlers, FlowResult, StepVisit
from workflows.automation.run.steps.action import execute_action, step_call, succeeded_record
from workflows.automation.run.steps.control import run_control
from workflows.automation.run.steps.failures import StepFailure, StopRun

# Bounds a walk gone wrong (a definition has no cycles, but goto edges on error may loop).
MAX_STEP_EXECUTIONS = 10_000

# Awaited before each step but the first of a walk, with the step about to run: the run
# workflow continues as new there when its history has grown long.
Checkpoint = Callable[[str], Awaitable[None]]
Walked = tuple[RunStatusName, dict[str, Any] | None]


class Interpreter:
    def __init__(
        self,
        input: RunInput,
        view: RunView,
        context: dict[str, Any],
        *,
        flow: FlowHandlers | None = None,
        step_prefix: str = "",
        fixed_position: int | None = None,
        checkpoint: Checkpoint | None = None,
    ) -> None:
        self._input = input
        self._view = view
        self._context = context
        self._flow = flow or FlowHandlers()
        self._step_prefix = step_prefix
        self._fixed_position = fixed_position
        self._checkpoint = checkpoint
        # Records of control steps and failures not yet written: they travel with the next
        # activity, or with whatever closes the run.
        self.pending: list[StepRecord] = []
        self._position = 0
        self._visits: Counter[str] = Counter()
        # The output of the last step executed (a foreach item's output).
        self.last_output: Any = None
        self._executed = 0
        # The wait a step was in when the run continued as new; that step resumes it.
        self._resume_wait: WaitState | None = None

    # RunScope: what the flow handlers see of the run.

    @property
    def input(self) -> RunInput:
        return self._input

    @property
    def context(self) -> dict[str, Any]:
        return self._context

    @property
    def position(self) -> int:
        return self._position

    def record_id(self, step_id: str) -> str:
        return self._step_prefix + step_id

    def resumed(self, at: StepVisit[Any]) -> WaitState | None:
        wait = self._resume_wait
        if wait is None or wait.step_id != at.step_id or wait.visit != at.visit:
            return None
        self._resume_wait = None
        return wait

    def show_waiting(self, waiting: WaitView | None) -> None:
        self._view.waiting = waiting

    def unwritten(self) -> list[StepRecord]:
        return list(self.pending)

    def written(self, records: list[StepRecord]) -> None:
        self.pending = self.pending[len(records) :]

    def carry(self, records: list[StepRecord]) -> None:
        self.pending.extend(records)

    # The walk.

    async def walk(self, steps: Mapping[str, d.AnyStep], start: str | None) -> Walked:
        """Walk from ``start`` until no next step; ``(status, error)``."""
        current = start
        first = True
        while current is not None:
            if self._checkpoint is not None and not first:
                await self._checkpoint(current)
            first = False
            step_id = current
            self._executed += 1
            if self._executed > MAX_STEP_EXECUTIONS:
                return "failed", {
                    "step": self.record_id(step_id),
                    "message": f"the run executed more than {MAX_STEP_EXECUTIONS} steps",
                }
            step = steps[step_id]
            self._visits[step_id] += 1
            self._position = self._fixed_position or self._position + 1
            self._view.current_step = self.record_id(step_id)
            try:
                current = await self._step(step_id, step, self._visits[step_id])
            except StopRun as stop:
                if stop.status == "failed":
                    return "failed", {
                        "step": self.record_id(step_id),
                        "message": stop.message or "stopped",
                    }
                return "succeeded", None
            except StepFailure as failure:
                self._context["steps"][step_id] = {"output": None, "error": failure.message}
                if step.on_error == "fail":
                    return "failed", {"step": self.record_id(step_id), "message": failure.message}
                if step.on_error == "continue":
                    current = step.next if isinstance(step, d.LinearStep) else None
                else:
                    current = step.on_error.goto
        self._view.current_step = None
        return "succeeded", None

    def restore(self, state: RunState) -> None:
        """Continue where a previous execution of the run stopped."""
        self._visits = Counter(state.visits)
        self._position = state.position
        self._executed = state.executed
        self._context = state.context
        self.last_output = state.last_output
        self.pending = list(state.pending)
        self._view.steps = list(state.pending)
        self._resume_wait = state.wait

    def snapshot(self, next_step: str, wait: WaitState | None = None) -> RunState:
        """Where the run stands before ``next_step``; with ``wait``, ``next_step`` is the
        step waiting, which is taken back so that the next execution runs it again."""
        visits = dict(self._visits)
        position, executed = self._position, self._executed
        if wait is not None:
            visits[wait.step_id] -= 1
            executed -= 1
            if self._fixed_position is None:
                position -= 1
        return RunState(
            next_step=next_step,
            visits=visits,
            position=position,
            executed=executed,
            context=self._context,
            last_output=self.last_output,
            pending=self.pending,
            wait=wait,
        )

    async def _step(self, step_id: str, step: d.AnyStep, visit: int) -> str | None:
        started = workflow.now()
        wait = self._resume_wait
        if wait is not None and wait.step_id == step_id and wait.visit == visit:
            started = wait.started_at
        at = StepVisit(step_id, step, visit, started)
        reused = self._input.reuse.get(f"{self.record_id(step_id)}#{visit}")
        if reused is not None and isinstance(step, d.ActionStep | d.DelayStep):
            self._record(at, "reused", reused.input, reused.output)
            self._context["steps"][step_id] = {"output": reused.output}
            self.last_output = reused.output
            return step.next
        if isinstance(step, d.ActionStep):
            return await self._action(at.of(step))
        try:
            if isinstance(step, d.FlowStep):
                output, next_step = await self._flow_step(at.of(step))
            else:
                # Foreach items share the run's view with the foreach's own wait.
                view = None if self._step_prefix else self._view
                output, next_step = await run_control(
                    at.of(step), self._context, time_zone=self._input.firm_time_zone, view=view
                )
        except ExpressionError as exc:
            self._fail(at, StepFailure(exc.message))
        except StepFailure as failure:
            self._fail(at, failure)
        except StopRun as stop:
            output = {"status": stop.status, "message": stop.message}
            self._record(at, "succeeded", None, output)
            raise
        self._record(at, "succeeded", None, output)
        self._context["steps"][step_id] = {"output": output}
        self.last_output = output
        return next_step

    async def _flow_step(self, at: StepVisit[d.FlowStep]) -> FlowResult:
        """Hand the step to the handler its workflow registered for its type."""
        flow, step = self._flow, at.step
        match step:
            case d.CallAutomationStep() if flow.call_automation is not None:
                return await flow.call_automation(self, at.of(step))
            case d.WaitForEventStep() if flow.wait_for_event is not None:
                return await flow.wait_for_event(self, at.of(step))
            case d.ApprovalStep() if flow.approval is not None:
                return await flow.approval(self, at.of(step))
            case d.ForeachStep() if flow.foreach is not None:
                return await flow.foreach(self, at.of(step))
        raise StepFailure(f"a {step.type} step cannot run here")

    async def _action(self, at: StepVisit[d.ActionStep]) -> str | None:
        call = step_call(
            self._input,
            self.record_id(at.step_id),
            at,
            position=self._position,
            context=self._context,
            pending=self.pending,
        )
        try:
            local = self._input.local_steps and at.step.runs_locally()
            outcome = await execute_action(at.step, call, local=local)
        except StepFailure as failure:
            self._fail(at, failure)
        self.written(call.pending)
        self._view.steps.append(succeeded_record(call, outcome))
        self._context["steps"][at.step_id] = {"output": outcome.output}
        self.last_output = outcome.output
        return at.step.next

    def _record(
        self,
        at: StepVisit[Any],
        status: str,
        input: Any,
        output: Any,
        *,
        attempt: int = 1,
        error: str | None = None,
    ) -> None:
        record = StepRecord.model_validate(
            {
                "step_id": self.record_id(at.step_id),
                "step_type": at.step.type,
                "visit": at.visit,
                "position": self._position,
                "status": status,
                "attempt": attempt,
                "input": input,
                "output": output,
                "error": error,
                "started_at": at.started,
                "finished_at": workflow.now(),
            }
        )
        self.pending.append(record)
        self._view.steps.append(record)

    def _fail(self, at: StepVisit[Any], failure: StepFailure) -> NoReturn:
        self._record(
            at, "failed", failure.input, None, attempt=failure.attempt, error=failure.message
        )
        raise failure
