"""How an automation step fails: ``StepInvalid`` (another attempt cannot fix it) or
``StepFailed`` (a later attempt may pass).

Their own module because the action steps (``actions``, ``database_effects``,
``external_effects``), the run records and the approval steps all raise them, and the
activities turn them into the ``ApplicationError`` the run workflow reads; none of those
should import the others just for the exception types. A step's params that fail their
model become a ``StepInvalid`` here too, naming locations only.
"""

from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ValidationError

from core.validation_messages import plain_message

_Params = TypeVar("_Params", bound=BaseModel)


class StepError(Exception):
    """A failed attempt. ``input`` is the rendered params when rendering got that far."""

    retryable: ClassVar[bool]

    def __init__(self, message: str, *, input: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.input = input


class StepInvalid(StepError):
    retryable = False


class StepFailed(StepError):
    retryable = True


def problems(exc: ValidationError, prefix: str = "") -> str:
    # Only locations and messages: pydantic's own text would quote the (secret) input.
    # Each message is a sentence (core.validation_messages) with its own stop.
    return " ".join(
        f"{'/'.join(str(part) for part in (prefix, *err['loc']) if part != '')}: "
        f"{plain_message(err)}"
        for err in exc.errors()
    )


def validated(model: type[_Params], rendered: dict[str, Any]) -> _Params:
    try:
        return model.model_validate(rendered)
    except ValidationError as exc:
        raise StepInvalid(problems(exc), input=rendered) from None
