"""The run's ``foreach`` step: evaluates the items, runs the body once per item in the child
workflow ``AutomationForeachWorkflow`` (workflows/automation/run/foreach/) and waits for it.
The step's output is the items' outputs and errors; the records the child did not write
come back and go with the run's next activity."""

import asyncio
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from pure import expressions
    from workflows.automation.definition import steps as d
    from workflows.automation.run.contracts import WaitView
    from workflows.automation.run.foreach import contracts as foreach

from workflows.automation.run.flow import FlowResult, RunScope, StepVisit
from workflows.automation.run.steps.expressions import evaluate
from workflows.automation.run.steps.failures import StepFailure, run_canceled


def _outer_steps_read(body: d.ForeachBody, steps: dict[str, Any]) -> dict[str, Any]:
    """The outer step outputs the body reads: the rest would ride along in the child's
    input and in every continue-as-new."""
    texts: list[Any] = []
    for step in body.steps.values():
        params = step.params.model_dump(mode="json", by_alias=True)
        if isinstance(step, d.ConditionStep | d.SwitchStep):
            # Bare expressions, read as the one placeholder of a template.
            params = {name: "{{ (" + value + ") }}" for name, value in params.items()}
        texts.append(params)
    with workflow.unsafe.imports_passed_through():
        wanted = expressions.step_names_in_params(texts)
    if wanted is None:
        return steps
    return {name: steps[name] for name in wanted if name in steps}


async def run_foreach(run: RunScope, at: StepVisit[d.ForeachStep]) -> FlowResult:
    """The ``foreach`` flow handler of the run workflow."""
    step, visit = at.step, at.visit
    items = evaluate(step.params.items, run.context)
    if not isinstance(items, list):
        raise StepFailure(f"items must be a list, not {type(items).__name__}")
    if len(items) > step.params.max_items:
        raise StepFailure(f"{len(items)} items; this foreach takes at most {step.params.max_items}")
    if not items:
        return {"items": [], "errors": [], "count": 0}, step.next
    record_id = run.record_id(at.step_id)
    prefix = f"{record_id}."
    context = {**run.context, "steps": _outer_steps_read(step.body, run.context["steps"])}
    source = run.input.model_copy(
        update={
            "definition": {},
            "state": None,
            "reuse": {k: v for k, v in run.input.reuse.items() if k.startswith(prefix)},
        }
    )
    child = foreach.ForeachInput(
        run=source,
        step_id=record_id,
        visit=visit,
        position=run.position,
        body=step.body.model_dump(mode="json", by_alias=True),
        items=items,
        max_concurrency=step.params.max_concurrency,
        on_item_error=step.params.on_item_error,
        context=context,
    )
    run.show_waiting(WaitView(kind="foreach", step_id=record_id, done=0, total=len(items)))
    try:
        result = await workflow.execute_child_workflow(
            foreach.WORKFLOW_NAME,
            child,
            id=foreach.workflow_id(run.input.run_id, record_id, visit),
            result_type=foreach.ForeachResult,
            search_attributes=child.search_attributes().typed(),
        )
    except ChildWorkflowError as err:
        if run_canceled():
            # Canceling the run cancels the child first; that is no failure of the step.
            raise asyncio.CancelledError("the run was canceled") from err
        raise StepFailure("the foreach could not complete its items") from err
    finally:
        run.show_waiting(None)
    run.carry(result.pending)
    if result.failure is not None:
        raise StepFailure(result.failure)
    output = {
        "items": result.outputs,
        "errors": [error.model_dump() for error in result.errors],
        "count": len(items),
    }
    with workflow.unsafe.imports_passed_through():
        try:
            expressions.check_output_size(output)
        except expressions.ExpressionError as exc:
            raise StepFailure(f"the foreach output is too large: {exc.message}") from None
    return output, step.next
