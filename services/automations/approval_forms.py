"""The form an approver fills in: checked against the approval step's fields
(``workflows.automation.definition.params.FormField``) before a vote counts.

The validated form has every field of the spec, ``None`` for one left empty, so a later
step may read ``steps.<id>.output.form.<name>`` without failing on an optional field."""

import math
import re
from datetime import date
from typing import Any

from pydantic import JsonValue

from core.errors import Unprocessable
from workflows.automation.definition.params import FormField

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _problem(value: Any, spec: FormField) -> str | None:
    """What is wrong with a filled-in ``value`` for ``spec``, or None."""
    if spec.type in ("string", "text", "choice", "date") and not isinstance(value, str):
        return "must be a string"
    if spec.type in ("string", "text"):
        if len(value) > spec.max_length:
            return f"must be at most {spec.max_length} characters"
        if spec.type == "string" and ("\n" in value or "\r" in value):
            return "must be a single line (use a text field for several lines)"
        return None
    if spec.type == "choice":
        assert spec.choices is not None
        return None if value in spec.choices else "must be one of: " + ", ".join(spec.choices)
    if spec.type == "date":
        if not _DATE.match(value):
            return "must be a date as YYYY-MM-DD"
        try:
            date.fromisoformat(value)
        except ValueError:
            return "is not a calendar date"
        return None
    # bool is an int in Python; JSON keeps them apart, and so do we.
    if spec.type == "boolean":
        return None if isinstance(value, bool) else "must be true or false"
    if spec.type == "integer":
        return (
            None
            if isinstance(value, int) and not isinstance(value, bool)
            else ("must be a whole number")
        )
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    return None if numeric and math.isfinite(value) else "must be a number"


def _escaped(name: str) -> str:
    # An unknown field's name is the caller's own text: escape it as a JSON pointer token.
    return name.replace("~", "~0").replace("/", "~1")


def validate_form(
    spec: dict[str, Any], form: dict[str, JsonValue] | None, *, approving: bool
) -> dict[str, JsonValue]:
    """The validated form, or a 422 naming each bad field at ``/form/<name>``. Required
    fields bind only an approval: a rejection need not fill in what it refuses."""
    fields = {name: FormField.model_validate(raw) for name, raw in spec.items()}
    given = form or {}
    problems = [
        {"pointer": f"/form/{_escaped(name)}", "detail": "is not a field of this approval's form"}
        for name in given
        if name not in fields
    ]
    validated: dict[str, JsonValue] = {}
    for name, field in fields.items():
        value = given.get(name)
        if value is None or value == "":
            if field.required and approving:
                problems.append({"pointer": f"/form/{name}", "detail": "is required"})
            validated[name] = None
            continue
        problem = _problem(value, field)
        if problem is not None:
            problems.append({"pointer": f"/form/{name}", "detail": problem})
        validated[name] = value
    if problems:
        detail = "; ".join(f"{p['pointer'].removeprefix('/')}: {p['detail']}" for p in problems)
        raise Unprocessable("The form is not valid: " + detail, errors=problems)
    return validated
