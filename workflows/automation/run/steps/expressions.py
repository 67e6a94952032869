"""Evaluating and rendering a step's expressions against the run's context, and trimming
that context to what an activity's params read.

Expressions are evaluated by pure.expressions, whose environment reads no clock and no
randomness, so a replay evaluates to the same values. Workflow code (it enters the
sandbox's passthrough while jinja2 compiles), so it is imported inside the sandbox like the
interpreter.
"""

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from pure import expressions


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
