"""One error base class carrying its HTTP status; services raise these, the API renders
them as RFC 9457 problem+json."""

from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

from core.validation_messages import plain_message


class AppError(Exception):
    status: int = 400
    title: str = "Bad request"
    slug: str = "bad-request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors
        self.headers = headers


class BadRequest(AppError):
    pass


class Unauthorized(AppError):
    status = 401
    title = "Unauthorized"
    slug = "unauthorized"


class Forbidden(AppError):
    status = 403
    title = "Forbidden"
    slug = "forbidden"


class NotFound(AppError):
    status = 404
    title = "Not found"
    slug = "not-found"


class Conflict(AppError):
    status = 409
    title = "Conflict"
    slug = "conflict"


class PayloadTooLarge(AppError):
    status = 413
    title = "Payload too large"
    slug = "payload-too-large"


class UnsupportedMediaType(AppError):
    status = 415
    title = "Unsupported media type"
    slug = "unsupported-media-type"


class Unprocessable(AppError):
    status = 422
    title = "Unprocessable content"
    slug = "validation-error"


def json_pointer(parts: Iterable[str | int]) -> str:
    """The RFC 6901 pointer to the member at ``parts`` ("" for the whole document)."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


def field_problems(exc: ValidationError, prefix: str = "") -> list[dict[str, Any]]:
    """Pydantic's errors as problem entries, one JSON pointer each (under ``prefix``). Only
    locations and messages: never the input, which may be a secret."""
    return [
        {"pointer": prefix + json_pointer(err["loc"]), "detail": plain_message(err)}
        for err in exc.errors()
    ]


def unprocessable(exc: ValidationError) -> "Unprocessable":
    """A 422 whose detail names each bad field and whose errors carry their pointers."""
    problems = field_problems(exc)
    # Each problem's detail is a sentence (core.validation_messages) with its own stop.
    detail = " ".join(f"{p['pointer'].lstrip('/')}: {p['detail']}" for p in problems)
    return Unprocessable(detail, errors=problems)
