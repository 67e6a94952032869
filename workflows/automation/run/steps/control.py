"""The control steps (``condition``, ``switch``, ``set``, ``delay``, ``stop``), which the
interpreter evaluates itself rather than running as activities: each reads and writes only
the run's context, and a ``delay`` waits on a workflow timer.

Workflow code (it reads the workflow clock and sleeps), so it is imported inside the
sandbox like the interpreter.
"""

import json
from datetime import timedelta
from typing import Any, assert_never

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.automation.definition import steps as d
    from workflows.automation.run.contracts import RunView, WaitView
    from workflows.automation.run.until import UntilError, parse_until

from workflows.automation.run.flow import FlowResult, StepVisit
from workflows.automation.run.steps.expressions import evaluate, render
from workflows.automation.run.steps.failures import StepFailure, StopRun


async def run_control(
    at: StepVisit[d.ControlStep],
    context: dict[str, Any],
    *,
    time_zone: str,
    view: RunView | None,
) -> FlowResult:
    """A control step's ``(output, next step)``. ``view`` shows a delay's timer; foreach
    items pass None, since they share the run's view with the foreach's own wait."""
    match at.step:
        case d.ConditionStep() as step:
            result = bool(evaluate(step.params.expression, context))
            return {"result": result}, step.then if result else step.else_
        case d.SwitchStep() as step:
            value = evaluate(step.params.value, context)
            key = _case_key(value)
            matched = key if key in step.cases else None
            target = step.cases[matched] if matched is not None else step.default
            return {"value": value, "case": matched}, target
        case d.SetStep() as step:
            values = render(dict(step.params.vars), context)
            context["vars"].update(values)
            return values, step.next
        case d.DelayStep() as step:
            return await _delay(at.step_id, step, context, time_zone, view), step.next
        case d.StopStep() as step:
            message = step.params.message
            rendered = None if message is None else str(render(message, context))
            raise StopRun(step.params.status, rendered)
        case _:
            assert_never(at.step)


def _case_key(value: Any) -> str:
    """How a switch value names its case: strings as they are, anything else as JSON
    (``1``, ``true``, ``null``)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


async def _delay(
    step_id: str,
    step: d.DelayStep,
    context: dict[str, Any],
    time_zone: str,
    view: RunView | None,
) -> dict[str, Any]:
    now = workflow.now()
    if step.params.seconds is not None:
        seconds = step.params.seconds
    else:
        assert step.params.until is not None
        try:
            until = parse_until(render(step.params.until, context), time_zone)
        except UntilError as exc:
            raise StepFailure(str(exc)) from exc
        seconds = max(0.0, (until - now).total_seconds())
    wakes_at = now + timedelta(seconds=seconds)
    if seconds > 0:
        if view is not None:
            view.waiting = WaitView(kind="timer", step_id=step_id, wakes_at=wakes_at)
        try:
            await workflow.sleep(timedelta(seconds=seconds))
        finally:
            if view is not None:
                view.waiting = None
    return {"until": wakes_at.isoformat(), "seconds": seconds}
