"""Validation of automation definitions into precise problems, each with a JSON pointer.

Rules, in the order they are checked (a later stage runs only when the earlier ones
pass, so one mistake does not cascade into many):
1. the body is a JSON object without duplicate keys (duplicate step ids included);
2. the top level (``schema_version``, ``trigger``, ``start``, ``steps``), at most
   ``MAX_STEPS`` steps;
3. each step against the model of its ``type`` (unknown types are one error each), and the
   ``{{ … }}`` syntax of every string param and of bare expressions;
4. the graph: ``start`` and every edge name an existing step, every step is reachable from
   ``start``, and no cycle (no loop step type exists yet, so every cycle is an error).
"""

import json
import re
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ValidationError

from core.errors import Unprocessable
from services.expressions import ExpressionError, Kind, secret_names, syntax_error
from workflows.automation.definition import (
    CONTROL_TYPES,
    MAX_STEPS,
    STEP_ID_PATTERN,
    STEP_TYPES,
    Definition,
    DefinitionShell,
)

# A definition of 2,000 steps with long templates stays well below this.
MAX_DEFINITION_BYTES = 5 * 1024 * 1024
# Objects and arrays nest at most this deep: the checks below walk the document
# recursively, and no definition needs more (a step's params start at depth 4).
MAX_DEPTH = 32
# A response lists this many problems at most; the detail says how many there were.
MAX_PROBLEMS = 100
# Params holding a bare expression (no {{ }}) rather than a template.
_BARE_EXPRESSIONS = {("condition", "expression"), ("switch", "value")}

Problem = dict[str, str]


def escape(token: str) -> str:
    """A JSON pointer reference token (RFC 6901)."""
    return token.replace("~", "~0").replace("/", "~1")


def pointer(*tokens: str | int) -> str:
    return "".join("/" + escape(str(token)) for token in tokens)


class InvalidDefinition(Unprocessable):
    title = "Invalid automation definition"
    slug = "invalid-automation-definition"

    def __init__(self, problems: list[Problem]) -> None:
        shown = problems[:MAX_PROBLEMS]
        detail = "; ".join(f"{p['pointer'] or '/'}: {p['detail']}" for p in shown[:5])
        if len(problems) > 5:
            detail += f" (and {len(problems) - 5} more)"
        super().__init__(detail, errors=list(shown))
        self.problems = problems


# Parsing ----------------------------------------------------------------------------------


class _Object(dict[str, Any]):
    """A JSON object that remembers which of its keys appeared more than once."""

    duplicates: list[str]


def _pairs(pairs: list[tuple[str, Any]]) -> _Object:
    obj = _Object()
    obj.duplicates = []
    for key, value in pairs:
        if key in obj and key not in obj.duplicates:
            obj.duplicates.append(key)
        obj[key] = value
    return obj


def too_deep(value: Any) -> bool:
    """Whether ``value`` nests objects and arrays deeper than ``MAX_DEPTH`` (iterative, so
    any depth can be measured)."""
    stack = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        children = (
            current.values()
            if isinstance(current, dict)
            else current
            if isinstance(current, list)
            else ()
        )
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > MAX_DEPTH:
                    return True
                stack.append((child, depth + 1))
    return False


_TOO_DEEP: Problem = {
    "pointer": "",
    "detail": f"objects and arrays nest more than {MAX_DEPTH} levels deep",
}


def _duplicate_problems(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[Problem]:
    if isinstance(value, _Object):
        for key in value.duplicates:
            what = "step id" if path == ("steps",) else "key"
            yield {"pointer": pointer(*path, key), "detail": f"duplicate {what} {key!r}"}
        for key, child in value.items():
            yield from _duplicate_problems(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _duplicate_problems(child, (*path, index))


def parse_json(raw: bytes) -> dict[str, Any]:
    """The JSON object in ``raw``; a duplicate key anywhere is an error (a duplicate step
    id would otherwise silently replace the first step)."""
    if len(raw) > MAX_DEFINITION_BYTES:
        raise InvalidDefinition(
            [{"pointer": "", "detail": f"the definition exceeds {MAX_DEFINITION_BYTES} bytes"}]
        )
    try:
        data = json.loads(raw, object_pairs_hook=_pairs)
    except (ValueError, RecursionError) as exc:
        raise InvalidDefinition([{"pointer": "", "detail": f"not valid JSON: {exc}"}]) from exc
    if not isinstance(data, dict):
        raise InvalidDefinition([{"pointer": "", "detail": "the definition must be an object"}])
    if too_deep(data):
        raise InvalidDefinition([_TOO_DEEP])
    duplicates = list(_duplicate_problems(data))
    if duplicates:
        raise InvalidDefinition(duplicates)
    result: dict[str, Any] = plain(data)
    return result


def plain(value: Any) -> Any:
    """``value`` with every ``_Object`` turned into a plain dict (for storage)."""
    if isinstance(value, dict):
        return {key: plain(child) for key, child in value.items()}
    if isinstance(value, list):
        return [plain(child) for child in value]
    return value


# Model errors → pointers ----------------------------------------------------------------------


def _locate(data: Any, loc: tuple[str | int, ...]) -> list[str | int]:
    """The members of ``loc`` that exist in ``data``, plus a final missing field; pydantic
    also puts union tags (``manual``, ``GotoOnError``, ``literal[…]``) in ``loc``, which
    name no member of the document."""
    out: list[str | int] = []
    current = data
    for index, part in enumerate(loc):
        last = index == len(loc) - 1
        member = (isinstance(current, dict) and part in current) or (
            isinstance(current, list) and isinstance(part, int) and part < len(current)
        )
        if member:
            out.append(part)
            current = current[part]
        elif (
            last
            and isinstance(current, dict)
            and isinstance(part, str)
            and part.isidentifier()
            and part.islower()
        ):
            out.append(part)  # a required member that is missing
        # Anything else is a union tag: skip it.
    return out


def _model_problems(
    exc: ValidationError, data: Any, prefix: tuple[str | int, ...] = ()
) -> list[Problem]:
    merged: dict[str, list[str]] = {}
    for err in exc.errors():
        where = pointer(*prefix, *_locate(data, tuple(err["loc"])))
        message = err["msg"]
        if err["type"] == "extra_forbidden":
            message = "unknown member"
        messages = merged.setdefault(where, [])
        if message not in messages:
            messages.append(message)
    return [{"pointer": where, "detail": " or ".join(msgs)} for where, msgs in merged.items()]


def _validated(
    model: type[BaseModel], data: Any, prefix: tuple[str | int, ...]
) -> tuple[Any, list[Problem]]:
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, _model_problems(exc, data, prefix)


# Rules -----------------------------------------------------------------------------------------


def _string_problems(
    value: Any, path: tuple[str | int, ...], bare: bool = False, *, control: bool = False
) -> Iterator[Problem]:
    if isinstance(value, str):
        # The same parser that will evaluate them (services.expressions).
        kind: Kind = "condition" if bare else "template"
        error = syntax_error(value, kind)
        if error is None and control:
            # Control steps run inside the workflow, whose history must never hold a secret.
            error = _secrets_in_control(value, kind)
        if error is not None:
            yield {"pointer": pointer(*path), "detail": error}
    elif isinstance(value, dict):
        for key, child in value.items():
            yield from _string_problems(child, (*path, key), control=control)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _string_problems(child, (*path, index), control=control)


def _secrets_in_control(text: str, kind: Kind) -> str | None:
    try:
        used = secret_names(text, kind)
    except ExpressionError as exc:
        return exc.message
    if used:
        return "secrets are only available to action steps, not to control steps"
    return None


def _expression_problems(step_id: str, step_type: str, params: Any) -> Iterator[Problem]:
    if not isinstance(params, dict):
        return
    for name, value in params.items():
        bare = (step_type, name) in _BARE_EXPRESSIONS
        yield from _string_problems(
            value,
            ("steps", step_id, "params", name),
            bare,
            control=step_type in CONTROL_TYPES,
        )


def _step_problems(steps: dict[str, dict[str, Any]]) -> list[Problem]:
    problems: list[Problem] = []
    for step_id, raw in steps.items():
        if not re.match(STEP_ID_PATTERN, step_id):
            problems.append(
                {
                    "pointer": pointer("steps", step_id),
                    "detail": "a step id starts with a letter and has at most 64 letters, "
                    "digits, '_' or '-'",
                }
            )
            continue
        step_type = raw.get("type")
        if "type" not in raw:
            problems.append({"pointer": pointer("steps", step_id, "type"), "detail": "required"})
            continue
        model = STEP_TYPES.get(step_type) if isinstance(step_type, str) else None
        if model is None:
            known = ", ".join(sorted(STEP_TYPES))
            problems.append(
                {
                    "pointer": pointer("steps", step_id, "type"),
                    "detail": f"unknown step type {step_type!r}; known types: {known}",
                }
            )
            continue
        _, found = _validated(model, raw, ("steps", step_id))
        problems += found
        problems += _expression_problems(step_id, str(step_type), raw.get("params"))
    return problems


def _graph_problems(definition: Definition) -> list[Problem]:
    steps = definition.steps
    problems: list[Problem] = []
    if definition.start not in steps:
        problems.append({"pointer": "/start", "detail": f"no step {definition.start!r} in steps"})
    edges = {step_id: step.edges() for step_id, step in steps.items()}
    for step_id, out in edges.items():
        for edge, target in out.items():
            if target not in steps:
                problems.append(
                    {
                        "pointer": pointer("steps", step_id) + "/" + edge,
                        "detail": f"points at step {target!r}, which does not exist",
                    }
                )
    if problems:
        return problems
    return _reachability_problems(definition.start, edges) + _cycle_problems(
        definition.start, edges
    )


def _reachability_problems(start: str, edges: dict[str, dict[str, str]]) -> list[Problem]:
    seen = {start}
    frontier = [start]
    while frontier:
        for target in edges[frontier.pop()].values():
            if target not in seen:
                seen.add(target)
                frontier.append(target)
    return [
        {"pointer": pointer("steps", step_id), "detail": "unreachable from the start step"}
        for step_id in edges
        if step_id not in seen
    ]


def _cycle_problems(start: str, edges: dict[str, dict[str, str]]) -> list[Problem]:
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
                        "pointer": pointer("steps", node) + "/" + edge,
                        "detail": "closes the cycle "
                        + " → ".join(loop)
                        + "; cycles are not allowed (no loop step type exists yet)",
                    }
                )
            elif target not in state:
                state[target] = "open"
                on_path.append(target)
                stack.append((target, iter(edges[target].items())))
    return problems


def problems_of(data: Any) -> list[Problem]:
    """Every problem of the parsed document ``data``; empty when it is a valid definition."""
    if not isinstance(data, dict):
        return [{"pointer": "", "detail": "the definition must be an object"}]
    if too_deep(data):
        return [_TOO_DEEP]
    steps = data.get("steps")
    if isinstance(steps, dict) and len(steps) > MAX_STEPS:
        return [
            {
                "pointer": "/steps",
                "detail": f"{len(steps)} steps; a definition has at most {MAX_STEPS}",
            }
        ]
    shell, problems = _validated(DefinitionShell, data, ())
    if shell is None:
        return problems
    problems = _step_problems(data["steps"])
    if problems:
        return problems
    definition, problems = _validated(Definition, data, ())
    if definition is None:
        return problems
    return _graph_problems(definition)


def validate(data: Any) -> Definition:
    """The valid definition, or ``InvalidDefinition`` listing every problem."""
    problems = problems_of(data)
    if problems:
        raise InvalidDefinition(problems)
    return Definition.model_validate(data)
