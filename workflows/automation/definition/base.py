"""What every part of the automation definition is built from: the strict base model, the
size limits and the constrained field types (step ids, templates, expressions, event names).

Kept apart so the trigger, parameter and step modules share one definition of each rather
than importing them from one another.
"""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from core.validation_messages import pattern_message

MAX_STEPS = 2000
# Step ids appear in JSON pointers and expressions (steps.<id>.output), so they are
# identifiers: a letter first, then letters, digits, "_" or "-".
STEP_ID_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$"

_IDENTIFIER = "Use up to 64 letters, digits, '_' or '-', starting with a letter: send_invoice."
StepId = Annotated[str, StringConstraints(pattern=STEP_ID_PATTERN), pattern_message(_IDENTIFIER)]
# A string that may hold {{ … }} expressions (checked by the validator).
Template = Annotated[str, StringConstraints(max_length=100_000)]
# A bare expression, as in a condition: ``trigger.amount > 100``.
Expression = Annotated[str, StringConstraints(min_length=1, max_length=10_000)]
Seconds = Annotated[float, Field(gt=0, le=365 * 24 * 3600)]
_NAME = "Use up to 64 letters, digits or '_', starting with a letter or '_': total_due."
VarName = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"), pattern_message(_NAME)
]
# A domain or custom event name: ``client.created``, ``custom.contract_signed``.
EventName = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$", max_length=100),
    pattern_message(
        "Name the event in lowercase words joined by dots, such as custom.contract_signed."
    ),
]
# Roles that may be named as approvers (a client-role user never approves firm work).
ApproverRole = Literal["owner", "admin", "staff", "builder"]
# Form field names are read by later steps as ``steps.<id>.output.form.<name>``.
FieldName = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"), pattern_message(_NAME)
]


class StrictModel(BaseModel):
    """Every definition model: unknown keys are errors and a parsed definition is immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
