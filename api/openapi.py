"""The OpenAPI document says what the server answers: every error is one ``Problem``
schema under ``application/problem+json``, and each operation lists the statuses it can
answer with.

Those statuses are derived, not written per route: when the document is built,
``describe_problems`` walks each route's dependency tree:

- a dependency marked with ``@raises(...)`` adds the errors it raises: authentication →
  401, a permission or CSRF refusal → 403, a reused ``Idempotency-Key`` → 409, a bad
  cursor → 400, a body over its limit → 413;
- a path parameter adds 404 (what it names may not exist, or not in the caller's firm);
- any parameter adds 422 (request validation), a request body 400 (undecodable), 413
  (beyond the size any route takes) and 422; every request may get a 422 (a NUL in a
  header), see ``EVERY_REQUEST``;
- what the endpoint itself raises, through its services, it declares with
  ``responses=errors(Conflict, ...)`` on its decorator.

The ``Problem`` schema takes the place of FastAPI's ``HTTPValidationError``, which this
API never sends.
"""

from collections.abc import Callable, Iterator, Sequence
from http import HTTPStatus
from typing import Any, Literal, TypeVar

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, ConfigDict, Field
from starlette.routing import BaseRoute

from api.errors import PROBLEM_JSON
from core.errors import (
    AppError,
    BadRequest,
    NotFound,
    PayloadTooLarge,
    Unprocessable,
    UnsupportedMediaType,
)

PROBLEM_REF = "#/components/schemas/Problem"


class ProblemItem(BaseModel):
    """One thing wrong with the request: a member of the body (``pointer``) or a
    parameter (``parameter`` and ``in``)."""

    model_config = ConfigDict(populate_by_name=True)

    pointer: str | None = Field(
        default=None, description='JSON pointer into the request body ("" is the whole body).'
    )
    parameter: str | None = Field(default=None, description="The parameter's name.")
    in_: Literal["path", "query", "header", "cookie"] | None = Field(
        default=None, alias="in", description="Where the parameter is."
    )
    detail: str = Field(description="What is wrong with it.")


class Problem(BaseModel):
    """An RFC 9457 problem: every error the API answers with."""

    type: str = Field(description="A URI naming the kind of problem.")
    title: str = Field(description="The kind of problem, the same for every occurrence.")
    status: int = Field(ge=400, le=599, description="The HTTP status.")
    detail: str = Field(description="This occurrence, in a sentence saying what to do.")
    instance: str = Field(description="The request path.")
    request_id: str | None = Field(
        default=None, description="Quote it when reporting a problem; also in X-Request-ID."
    )
    errors: list[ProblemItem] | None = Field(
        default=None, description="Each invalid member or parameter, for validation problems."
    )


ErrorKinds = tuple[type[AppError], ...]
F = TypeVar("F")
_RAISES = "__firmflow_raises__"

# api.input_safety sees every request first: a NUL in its path, query or headers is a 422.
EVERY_REQUEST: ErrorKinds = (Unprocessable,)
# A body the framework cannot decode (not UTF-8) is a 400, one that does not validate a
# 422 (also a body an endpoint reads itself, declared through openapi_extra), one sent as
# another media type than the route reads a 415 (api.errors), and a textual body beyond the
# largest any route takes a 413 (api.input_safety).
EVERY_BODY: ErrorKinds = (BadRequest, PayloadTooLarge, UnsupportedMediaType, Unprocessable)


def raises(*kinds: type[AppError]) -> Callable[[F], F]:
    """Mark a dependency (a function, or a class whose instances are dependencies) with
    the errors it raises; every route that depends on it declares them."""

    def mark(dependency: F) -> F:
        setattr(dependency, _RAISES, kinds)
        return dependency

    return mark


def _response(status: int, descriptions: list[str]) -> dict[str, Any]:
    return {
        "description": "; ".join(dict.fromkeys(descriptions)) or HTTPStatus(status).phrase,
        "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}},
    }


def errors(*kinds: type[AppError]) -> dict[int | str, dict[str, Any]]:
    """``responses=errors(Conflict, NotFound)``: the problems a route's endpoint (its
    services) may answer with, beside those its dependencies bring."""
    by_status: dict[int, list[str]] = {}
    for kind in kinds:
        by_status.setdefault(kind.status, []).append(kind.title)
    return {status: _response(status, titles) for status, titles in sorted(by_status.items())}


def _walk(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _walk(sub)


def derived_errors(dependant: Dependant) -> ErrorKinds:
    """The errors a route's dependency tree (parameters, body, dependencies) can raise."""
    kinds: list[type[AppError]] = []
    for node in _walk(dependant):
        call = node.call
        if call is not None:
            kinds.extend(getattr(call, _RAISES, ()))
        if node.path_params:
            kinds.append(NotFound)
        if (
            node.path_params
            or node.query_params
            or node.header_params
            or node.cookie_params
            or node.body_params
        ):
            kinds.append(Unprocessable)
    return tuple(kinds)


def _declare(operation: dict[str, Any], derived: ErrorKinds) -> None:
    derived = (*derived, *EVERY_REQUEST)
    if "requestBody" in operation:
        derived = (*derived, *EVERY_BODY)
    responses: dict[str, Any] = operation.setdefault("responses", {})
    # FastAPI's own 422 describes its default body, which this API never sends.
    default_422 = responses.get("422", {}).get("content", {}).get("application/json", {})
    if default_422.get("schema", {}).get("$ref", "").endswith("/HTTPValidationError"):
        del responses["422"]
    for status, response in errors(*derived).items():
        declared = responses.setdefault(str(status), response)
        if declared is response:
            continue
        declared.setdefault("content", response["content"])
        described = declared.get("description", "")
        if response["description"] not in described:
            declared["description"] = f"{described}; {response['description']}".lstrip("; ")


def describe_problems(document: dict[str, Any], routes: Sequence[BaseRoute]) -> None:
    """Add to ``document`` each route's derived problems and the Problem schema, in place
    of FastAPI's validation error schemas."""
    for context in iter_route_contexts(routes):
        if not isinstance(context.original_route, APIRoute) or not context.include_in_schema:
            continue
        derived = derived_errors(context.dependant)
        operations = document["paths"].get(context.path_format, {})
        for method in context.methods or ():
            operation = operations.get(method.lower())
            if operation is not None:
                _declare(operation, derived)
    schemas: dict[str, Any] = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    problem = Problem.model_json_schema(
        by_alias=True, ref_template="#/components/schemas/{model}", mode="serialization"
    )
    ours = {**problem.pop("$defs", {}), "Problem": problem}
    taken = sorted(set(ours) & set(schemas))
    if taken:
        # Another model of that name would be silently replaced, and its responses would
        # be checked against the wrong schema.
        raise RuntimeError(f"Rename the models named {taken}: those names are the Problem's")
    schemas.update(ours)


def install(app: FastAPI) -> None:
    """Serve the document with every route's problems declared."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                openapi_version=app.openapi_version,
                description=app.description,
                routes=app.routes,
            )
            describe_problems(document, app.routes)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
