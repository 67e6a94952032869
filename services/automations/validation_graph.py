"""The graph rules of automation definitions: of the top level and of each foreach body,
``start`` and every edge name an existing step of the same graph, every step is
reachable from ``start``, and no cycle. Part of services.automations.validation (which
re-exports ``pointer`` and ``escape``)."""

from collections.abc import Iterator
from typing import Any

from workflows.automation.definition import Definition
from workflows.automation.definition.steps import ForeachStep

Problem = dict[str, str]


def escape(token: str) -> str:
    """A JSON pointer reference token (RFC 6901)."""
    return token.replace("~", "~0").replace("/", "~1")


def pointer(*tokens: str | int) -> str:
    return "".join("/" + escape(str(token)) for token in tokens)


def _graph(
    start: str,
    steps: dict[str, Any],
    path: tuple[str | int, ...] = (),
    outer: dict[str, Any] | None = None,
) -> list[Problem]:
    """The graph of the steps at ``path`` (the top level, or a foreach body whose
    automation's steps are ``outer``)."""
    problems: list[Problem] = []
    if start not in steps:
        problems.append(
            {"pointer": pointer(*path, "start"), "detail": f"no step {start!r} in steps"}
        )
    edges = {step_id: step.edges() for step_id, step in steps.items()}
    for step_id, out in edges.items():
        for edge, target in out.items():
            if target in steps:
                continue
            detail = f"points at step {target!r}, which does not exist"
            if outer is not None and target in outer:
                detail = (
                    f"points at step {target!r} outside this foreach body; "
                    "a body's edges stay inside it"
                )
            problems.append(
                {"pointer": pointer(*path, "steps", step_id) + "/" + edge, "detail": detail}
            )
    if problems:
        return problems
    return _reachability_problems(start, edges, path) + _cycle_problems(start, edges, path)


def _reachability_problems(
    start: str, edges: dict[str, dict[str, str]], path: tuple[str | int, ...]
) -> list[Problem]:
    seen = {start}
    frontier = [start]
    while frontier:
        for target in edges[frontier.pop()].values():
            if target not in seen:
                seen.add(target)
                frontier.append(target)
    return [
        {"pointer": pointer(*path, "steps", step_id), "detail": "unreachable from the start step"}
        for step_id in edges
        if step_id not in seen
    ]


def _cycle_problems(
    start: str, edges: dict[str, dict[str, str]], path: tuple[str | int, ...]
) -> list[Problem]:
    """Each edge that closes a cycle, found by an iterative depth-first search (2,000
    steps would exceed Python's recursion limit)."""
    problems: list[Problem] = []
    on_path: list[str] = []
    state: dict[str, str] = {}  # "open" while on the current path, then "done"
    stack: list[tuple[str, Iterator[tuple[str, str]]]] = []
    for root in [start, *edges]:
        if root in state:
            continue
        state[root] = "open"
        on_path.append(root)
        stack.append((root, iter(edges[root].items())))
        while stack:
            node, children = stack[-1]
            step = next(children, None)
            if step is None:
                stack.pop()
                on_path.pop()
                state[node] = "done"
                continue
            edge, target = step
            if state.get(target) == "open":
                loop = [*on_path[on_path.index(target) :], target]
                problems.append(
                    {
                        "pointer": pointer(*path, "steps", node) + "/" + edge,
                        "detail": "closes the cycle "
                        + " → ".join(loop)
                        + "; cycles are not allowed (a foreach step repeats work)",
                    }
                )
            elif target not in state:
                state[target] = "open"
                on_path.append(target)
                stack.append((target, iter(edges[target].items())))
    return problems


def graph_problems(definition: Definition) -> list[Problem]:
    problems = _graph(definition.start, definition.steps)
    for step_id, step in definition.steps.items():
        if isinstance(step, ForeachStep):
            problems += _graph(
                step.body.start, step.body.steps, ("steps", step_id, "body"), definition.steps
            )
    return problems
