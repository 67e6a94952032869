"""Validation of automation definitions into precise problems, each with a JSON pointer.

Rules, in the order they are checked (a later stage runs only when the earlier ones
pass, so one mistake does not cascade into many):
1. the body is a JSON object without duplicate keys (duplicate step ids included);
2. the top level (``schema_version``, ``trigger``, ``start``, ``steps``), at most
   ``MAX_STEPS`` steps;
3. each step against the model of its ``type`` (unknown types are one error each), the
   ``{{ … }}`` syntax of every string param and of bare expressions, no ``secrets`` where
   the workflow evaluates or firmflow stores the text, event names (firmflow's own
   namespaces are not for custom events), the trigger's filter, cron and time zone, and
   the flow-control keys; a foreach body's steps the same way, limited to
   ``BODY_STEP_TYPES`` and with ids of their own;
4. the graph, of the top level and of each foreach body: ``start`` and every edge name an
   existing step of the same graph, every step is reachable from ``start``, and no cycle
   (repetition is what foreach is for).

A ``call_automation`` step may call its own automation: each call adds one to the run's
depth, and ``MAX_EVENT_DEPTH`` ends such a chain with a clear run error.
"""

import json
import re
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ValidationError

from core.errors import Unprocessable
from pure import event_catalogue
from pure.expressions import ExpressionError, Kind, secret_names, syntax_error
from services.automations import schedules
from services.automations.validation_graph import Problem, graph_problems, pointer
from workflows.automation.definition import Definition, DefinitionShell
from workflows.automation.definition.base import MAX_STEPS, STEP_ID_PATTERN
from workflows.automation.definition.steps import (
    BODY_STEP_TYPES,
    CONTROL_TYPES,
    STEP_TYPES,
    EmitEventStep,
    WaitForEventStep,
)
from workflows.automation.definition.triggers import EventTrigger, ScheduleTrigger

__all__ = [
    "InvalidDefinition",
    "Problem",
    "parse_json",
    "pointer",
    "problems_of",
    "secret_uses",
    "validate",
]

# A definition of 2,000 steps with long templates stays well below this.
MAX_DEFINITION_BYTES = 5 * 1024 * 1024
# Objects and arrays nest at most this deep: the checks below walk the document
# recursively, and no definition needs more (a step's params start at depth 4).
MAX_DEPTH = 32
# A response lists this many problems at most; the detail says how many there were.
MAX_PROBLEMS = 100
# Params holding a bare expression (no {{ }}) rather than a template.
_BARE_EXPRESSIONS = {("condition", "expression"), ("switch", "value"), ("foreach", "items")}
# Why a param may not read ``secrets``, by step type (action steps may: their activity
# resolves them and redacts what it stores).
_NO_SECRETS = {
    **{
        step_type: "secrets are only available to action steps, not to control steps"
        for step_type in CONTROL_TYPES
    },
    **{
        step_type: f"secrets are only available to action steps: a {step_type} step is "
        "evaluated by the workflow, whose history must never hold a secret"
        for step_type in ("foreach", "wait_for_event", "call_automation")
    },
    "approval": "an approval's title and message are stored and emailed to the approvers: "
    "they may not read secrets",
}


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
    value: Any, path: tuple[str | int, ...], bare: bool = False, *, no_secrets: str | None = None
) -> Iterator[Problem]:
    """The syntax of every string in ``value``; with ``no_secrets``, also that none reads
    ``secrets`` (the message says why)."""
    if isinstance(value, str):
        # The same parser that will evaluate them (pure.expressions).
        kind: Kind = "condition" if bare else "template"
        error = syntax_error(value, kind)
        if error is None and no_secrets is not None:
            error = _secrets_used(value, kind, no_secrets)
        if error is not None:
            yield {"pointer": pointer(*path), "detail": error}
    elif isinstance(value, dict):
        for key, child in value.items():
            yield from _string_problems(child, (*path, key), no_secrets=no_secrets)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _string_problems(child, (*path, index), no_secrets=no_secrets)


def _secrets_used(text: str, kind: Kind, message: str) -> str | None:
    try:
        used = secret_names(text, kind)
    except ExpressionError as exc:
        return exc.message
    return message if used else None


def _expression_problems(
    path: tuple[str | int, ...], step_type: str, params: Any
) -> Iterator[Problem]:
    if not isinstance(params, dict):
        return
    for name, value in params.items():
        bare = (step_type, name) in _BARE_EXPRESSIONS
        no_secrets = _NO_SECRETS.get(step_type)
        if step_type == "approval" and name not in ("title", "message"):
            no_secrets = None
        yield from _string_problems(value, (*path, "params", name), bare, no_secrets=no_secrets)


def _event_problem(name: str, *, emitted: bool) -> str | None:
    """What is wrong with waiting for, triggering on (``emitted`` False) or emitting an
    event of this name: firmflow's own namespaces hold only the catalogue's events, and
    only firmflow emits them."""
    if not event_catalogue.is_reserved(name):
        return None
    namespace = name.split(".", 1)[0]
    if emitted:
        if name in event_catalogue.CATALOGUE:
            return f"{name} is emitted by firmflow itself; an automation cannot emit it"
        return (
            f"the {namespace}. namespace is firmflow's own; name a custom event outside it "
            f"(e.g. custom.{name.replace('.', '_')})"
        )
    if name in event_catalogue.CATALOGUE:
        return None
    known = ", ".join(sorted(n for n in event_catalogue.CATALOGUE if n.startswith(namespace + ".")))
    return f"unknown event {name!r}; firmflow's {namespace} events are {known}"


def _typed_step_problems(path: tuple[str | int, ...], step: Any) -> list[Problem]:
    """Rules on a step that parsed: event names."""
    if isinstance(step, WaitForEventStep):
        problem = _event_problem(step.params.event, emitted=False)
    elif isinstance(step, EmitEventStep):
        problem = _event_problem(step.params.name, emitted=True)
    else:
        return []
    if problem is None:
        return []
    field = "event" if isinstance(step, WaitForEventStep) else "name"
    return [{"pointer": pointer(*path, "params", field), "detail": problem}]


def _step_problems(
    steps: dict[str, Any],
    path: tuple[str | int, ...] = ("steps",),
    *,
    outer: dict[str, Any] | None = None,
) -> list[Problem]:
    """The steps at ``path``; ``outer`` holds the automation's steps when these are a
    foreach body's."""
    problems: list[Problem] = []
    for step_id, raw in steps.items():
        here = (*path, step_id)
        if not re.match(STEP_ID_PATTERN, step_id):
            problems.append(
                {
                    "pointer": pointer(*here),
                    "detail": "a step id starts with a letter and has at most 64 letters, "
                    "digits, '_' or '-'",
                }
            )
            continue
        if outer is not None and step_id in outer:
            problems.append(
                {
                    "pointer": pointer(*here),
                    "detail": f"{step_id!r} is also a step of the automation; the steps of "
                    "a foreach body have ids of their own",
                }
            )
            continue
        if not isinstance(raw, dict):
            problems.append({"pointer": pointer(*here), "detail": "a step is an object"})
            continue
        problems += _one_step_problems(here, raw, steps, body=outer is not None)
    return problems


def _one_step_problems(
    here: tuple[str | int, ...], raw: dict[str, Any], siblings: dict[str, Any], *, body: bool
) -> list[Problem]:
    step_type = raw.get("type")
    if "type" not in raw:
        return [{"pointer": pointer(*here, "type"), "detail": "required"}]
    model = STEP_TYPES.get(step_type) if isinstance(step_type, str) else None
    if model is None:
        known = ", ".join(sorted(BODY_STEP_TYPES if body else STEP_TYPES))
        return [
            {
                "pointer": pointer(*here, "type"),
                "detail": f"unknown step type {step_type!r}; known types: {known}",
            }
        ]
    if body and step_type not in BODY_STEP_TYPES:
        return [
            {
                "pointer": pointer(*here, "type"),
                "detail": f"a {step_type} step is not allowed inside foreach (no waits for "
                "events or people and no nested foreach); allowed: "
                + ", ".join(sorted(BODY_STEP_TYPES)),
            }
        ]
    parsed, problems = _validated(model, raw, here)
    body_steps = raw.get("body", {}).get("steps") if step_type == "foreach" else None
    if isinstance(raw.get("body"), dict) and isinstance(body_steps, dict):
        # The body's steps are checked one by one below, with messages of their own.
        inside = pointer(*here, "body", "steps") + "/"
        problems = [p for p in problems if not p["pointer"].startswith(inside)]
        problems += _step_problems(body_steps, (*here, "body", "steps"), outer=siblings)
    problems += _expression_problems(here, str(step_type), raw.get("params"))
    if parsed is not None:
        problems += _typed_step_problems(here, parsed)
    return problems


def _top_problems(shell: DefinitionShell) -> list[Problem]:
    """The trigger and the flow-control keys."""
    problems: list[Problem] = []
    trigger = shell.trigger
    if isinstance(trigger, EventTrigger):
        problem = _event_problem(trigger.event, emitted=False)
        if problem is not None:
            problems.append({"pointer": "/trigger/event", "detail": problem})
        problems += _string_problems(trigger.filter, ("trigger", "filter"), bare=True)
    if isinstance(trigger, ScheduleTrigger):
        cron = None if trigger.cron is None else schedules.cron_problem(trigger.cron)
        if cron is not None:
            problems.append({"pointer": "/trigger/cron", "detail": cron})
        zone = None if trigger.time_zone is None else schedules.zone_problem(trigger.time_zone)
        if zone is not None:
            problems.append({"pointer": "/trigger/time_zone", "detail": zone})
    if shell.concurrency is not None:
        problems += _string_problems(shell.concurrency.key, ("concurrency", "key"), bare=True)
    if shell.debounce is not None:
        problems += _string_problems(shell.debounce.key, ("debounce", "key"), bare=True)
    return problems


def _step_count(steps: dict[str, Any]) -> int:
    """The steps, foreach bodies included."""
    count = len(steps)
    for raw in steps.values():
        body = raw.get("body") if isinstance(raw, dict) else None
        if isinstance(body, dict) and isinstance(body.get("steps"), dict):
            count += len(body["steps"])
    return count


def problems_of(data: Any) -> list[Problem]:
    """Every problem of the parsed document ``data``; empty when it is a valid definition."""
    if not isinstance(data, dict):
        return [{"pointer": "", "detail": "the definition must be an object"}]
    if too_deep(data):
        return [_TOO_DEEP]
    steps = data.get("steps")
    if isinstance(steps, dict) and _step_count(steps) > MAX_STEPS:
        counted = "steps" if _step_count(steps) == len(steps) else "steps, foreach bodies included"
        return [
            {
                "pointer": "/steps",
                "detail": f"{_step_count(steps)} {counted}; a definition has at most {MAX_STEPS}",
            }
        ]
    shell, problems = _validated(DefinitionShell, data, ())
    if shell is None:
        return problems
    problems = _top_problems(shell) + _step_problems(data["steps"])
    if problems:
        return problems
    definition, problems = _validated(Definition, data, ())
    if definition is None:
        return problems
    return graph_problems(definition)


def _string_leaves(
    value: Any, path: tuple[str | int, ...]
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, child in value.items():
            yield from _string_leaves(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _string_leaves(child, (*path, index))


def _all_steps(
    steps: dict[str, Any], path: tuple[str | int, ...] = ("steps",)
) -> Iterator[tuple[tuple[str | int, ...], dict[str, Any]]]:
    """Every step with its path, the steps of foreach bodies included."""
    for step_id, step in steps.items():
        yield (*path, step_id), step
        body = step.get("body")
        if step.get("type") == "foreach" and isinstance(body, dict):
            yield from _all_steps(body["steps"], (*path, step_id, "body", "steps"))


def secret_uses(data: dict[str, Any]) -> list[tuple[str, str]]:
    """Each use of a credential (``secrets.<name>``) in the valid definition ``data`` as
    (JSON pointer of the param, name), in document order, foreach bodies included. Names
    come from the parsed expressions, the way a run resolves them (pure.expressions)."""
    uses: list[tuple[str, str]] = []
    for path, step in _all_steps(data["steps"]):
        for name, value in step.get("params", {}).items():
            bare = (step.get("type"), name) in _BARE_EXPRESSIONS
            for where, text in _string_leaves(value, (*path, "params", name)):
                kind: Kind = "condition" if bare and isinstance(value, str) else "template"
                uses += [(pointer(*where), secret) for secret in sorted(secret_names(text, kind))]
    return uses


def validate(data: Any) -> Definition:
    """The valid definition, or ``InvalidDefinition`` listing every problem."""
    problems = problems_of(data)
    if problems:
        raise InvalidDefinition(problems)
    return Definition.model_validate(data)
