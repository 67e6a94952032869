"""RFC 9457 problem+json for every error, including the framework's own 404/405/422 and
unexpected 500s (whose detail never leaves the server log)."""

import logging
from collections.abc import Mapping
from email.message import Message
from typing import Any

from fastapi import FastAPI, Request, params
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.middleware import loggable_path
from core.errors import AppError, NotFound, Unprocessable, UnsupportedMediaType, json_pointer
from core.validation_messages import plain_message

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://firmflow.dev/problems/"
log = logging.getLogger("firmflow.api")
# A path parameter that breaks its declared range, pattern or length names nothing.
_IMPOSSIBLE_PATH_ERRORS = frozenset(
    {
        "greater_than",
        "greater_than_equal",
        "less_than",
        "less_than_equal",
        "string_pattern_mismatch",
        "string_too_long",
        "string_too_short",
    }
)


def problem(
    status: int,
    title: str,
    slug: str,
    detail: str,
    request: Request,
    errors: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": TYPE_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
        # Masked like the access log: a secret path parameter (a webhook or invitation
        # token) is not echoed into bodies that clients and proxies may log.
        "instance": loggable_path(request.scope),
    }
    response_headers = dict(headers or {})
    request_id = getattr(request.state, "request_id", None)
    if request_id:
        body["request_id"] = request_id
        # Starlette sends a 500 from outside every middleware, so the header is set here too.
        response_headers["X-Request-ID"] = request_id
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=response_headers)


def app_problem(error: AppError, request: Request) -> JSONResponse:
    """The problem answer of ``error``: its status, title, slug, detail, errors and headers."""
    return problem(
        error.status, error.title, error.slug, error.detail, request, error.errors, error.headers
    )


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for err in exc.errors():
        loc = [str(part) for part in err.get("loc", ())]
        where, path = (loc[0], loc[1:]) if loc else ("body", [])
        if err.get("type") == "json_invalid":
            path = []  # its location is a character offset, not a member of the document
        entry: dict[str, Any] = {"detail": plain_message(err)}
        if where == "body":
            entry["pointer"] = json_pointer(path)
        else:
            entry["parameter"] = path[0] if path else where
            entry["in"] = where
        out.append(entry)
    return out


def _impossible_path_parameter(exc: RequestValidationError) -> str | None:
    """The first path parameter no resource can have (a version number beyond int4, a
    firm slug with characters no slug has), so the answer is the 404 of a missing one."""
    for err in exc.errors():
        loc = err.get("loc", ())
        if len(loc) == 2 and loc[0] == "path" and err.get("type") in _IMPOSSIBLE_PATH_ERRORS:
            return str(loc[1])
    return None


def validation_problem(request: Request, errors: list[dict[str, Any]]) -> JSONResponse:
    """The 422 for input the request cannot be served with, whoever found it: one shape
    for pydantic's checks and for the checks that run before routing (api.input_safety)."""
    invalid = Unprocessable("The request is not valid; see errors.", errors=errors)
    return app_problem(invalid, request)


_FRAMEWORK_PROBLEMS = {
    400: (
        "Bad request",
        "The request body could not be read; send it as UTF-8 in the declared content type.",
    ),
    401: ("Unauthorized", "Sign in: send a bearer token or the session cookie."),
    404: ("Not found", "Nothing is at this address; check the path against the API reference."),
    405: ("Method not allowed", "This address does not take that method; see the Allow header."),
}
_OTHER_FRAMEWORK_PROBLEM = ("HTTP error", "The request could not be handled; check it and retry.")


def _json_body_sent_as_other_media(request: Request) -> bool:
    """A route that reads a JSON body was sent another declared media type: FastAPI then
    validates the raw bytes and reports the whole body as the wrong type, where the fault
    is the Content-Type (a 415)."""
    body_field = getattr(request.scope.get("route"), "body_field", None)
    content_type = request.headers.get("content-type")
    if body_field is None or isinstance(body_field.field_info, params.Form) or not content_type:
        return False
    message = Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    is_json = message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )
    return not is_json


_NOT_JSON = "Send this body as JSON, with the header Content-Type: application/json."


def install(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def app_error(request: Request, exc: AppError) -> JSONResponse:
        return app_problem(exc, request)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        if _json_body_sent_as_other_media(request):
            return app_problem(UnsupportedMediaType(_NOT_JSON), request)
        impossible = _impossible_path_parameter(exc)
        if impossible is not None:
            # The text itself is not repeated: it may hold anything, control characters
            # included.
            detail = f"Nothing here has this {impossible}; check the address."
            return app_problem(NotFound(detail), request)
        return validation_problem(request, _validation_errors(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # Only the framework raises these (our code raises AppError), and its details are
        # library wording ("There was an error parsing the body"): a person reads ours.
        title, detail = _FRAMEWORK_PROBLEMS.get(exc.status_code, _OTHER_FRAMEWORK_PROBLEM)
        slug = title.lower().replace(" ", "-")
        return problem(exc.status_code, title, slug, detail, request, headers=exc.headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Runs after the request context middleware has exited, so the id is passed here.
        request_id = getattr(request.state, "request_id", None)
        log.exception("unhandled error", extra={"path": request.url.path, "request_id": request_id})
        return problem(
            500,
            "Internal server error",
            "internal",
            "Something went wrong on our side; quote the request id when reporting it.",
            request,
        )
