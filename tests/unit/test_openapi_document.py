"""The OpenAPI document, read without a server: every error is a Problem under
application/problem+json, each operation lists the statuses its dependencies bring, and
request bodies declare the nulls they refuse."""

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import async_sessionmaker

from api.app import create_app
from api.openapi import install
from core.config import Settings

PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
METHODS = {"get", "put", "post", "patch", "delete"}


@pytest.fixture(scope="module")
def app() -> FastAPI:
    settings = Settings(
        database_url="postgresql+psycopg://unused@localhost/unused",
        temporal_address=None,
        _env_file=None,
    )
    # Never connected: the document needs the routes only.
    return create_app(settings, sessionmaker=async_sessionmaker())


@pytest.fixture(scope="module")
def document(app: FastAPI) -> dict[str, Any]:
    return app.openapi()


def operations(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield f"{method.upper()} {path}", operation


def test_fastapi_validation_error_schemas_are_gone(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert "ValidationError" not in schemas
    assert {"type", "title", "status", "detail", "instance"} <= set(schemas["Problem"]["required"])


def test_every_error_status_is_a_problem(document: dict[str, Any]) -> None:
    wrong = [
        f"{name} {status}"
        for name, operation in operations(document)
        for status, response in operation["responses"].items()
        if status >= "400" and response.get("content") != PROBLEM
    ]
    assert wrong == []


def test_statuses_follow_from_dependencies(document: dict[str, Any]) -> None:
    """Every request may get a 422 (a NUL in a header, api.input_safety); a path parameter
    brings 404, a body 400, 413 and 422, a signed-in route 401 and 403, an Idempotency-Key
    409."""
    missing: list[str] = []
    for name, operation in operations(document):
        declared = set(operation["responses"])
        parameters = operation.get("parameters", [])
        needs = {"422"}
        if any(p["in"] == "path" for p in parameters):
            needs.add("404")
        if "requestBody" in operation:
            needs |= {"400", "413"}
        if operation.get("security"):
            needs |= {"401", "403"}
        if any(p["name"] == "Idempotency-Key" for p in parameters):
            needs.add("409")
        missing += [f"{name} {status}" for status in sorted(needs - declared)]
    assert missing == []


def body_models(app: FastAPI) -> Iterator[type[BaseModel]]:
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute):
            continue
        for param in route.dependant.body_params:
            annotation = param.field_info.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                yield annotation


def _allows_null(schema: dict[str, Any]) -> bool:
    if schema.get("type") == "null":
        return True
    return any(_allows_null(branch) for branch in schema.get("anyOf", []))


def test_a_body_member_is_nullable_exactly_when_null_is_accepted(app: FastAPI) -> None:
    """PATCH bodies refuse null for the members that cannot be cleared; their schema must
    not offer null for them."""
    disagreements: list[str] = []
    for model in set(body_models(app)):
        properties = model.model_json_schema()["properties"]
        for name, field in model.model_fields.items():
            if field.is_required():
                continue
            member = field.alias or name
            try:
                model.model_validate({member: None})
                accepted = True
            except ValidationError as error:
                accepted = not any(e["loc"][:1] == (member,) for e in error.errors())
            if accepted != _allows_null(properties[member]):
                disagreements.append(f"{model.__name__}.{member}")
    assert sorted(disagreements) == []


def request_schemas(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every schema a request body can reach, following references."""
    components = document["components"]["schemas"]
    seen: set[str] = set()
    stack = [
        content["schema"]
        for _, operation in operations(document)
        for content in operation.get("requestBody", {}).get("content", {}).values()
        if "schema" in content
    ]
    while stack:
        schema = stack.pop()
        if isinstance(schema, list):
            stack.extend(schema)
            continue
        if not isinstance(schema, dict):
            continue
        ref = schema.get("$ref")
        if isinstance(ref, str):
            name = ref.rsplit("/", 1)[-1]
            if name not in seen:
                seen.add(name)
                stack.append(components[name])
            continue
        yield schema
        stack.extend(v for v in schema.values() if isinstance(v, (dict, list)))


def test_decimal_members_declare_their_precision(document: dict[str, Any]) -> None:
    """Pydantic describes a Decimal as "a number, or any string", while validation caps
    its decimals and its size: each decimal member of a request says what it accepts."""
    loose = [
        schema.get("title", "?")
        for schema in request_schemas(document)
        if {"type": "string"} in schema.get("anyOf", [])
        and any(branch.get("type") == "number" for branch in schema.get("anyOf", []))
    ]
    assert sorted(loose) == []


def test_a_bad_member_is_reported_at_the_member(app: FastAPI) -> None:
    """An optional member that refuses null must not be a union with a hidden None: a
    union reports a bad value once per branch (``/title/constrained-str``, ``/title/none``)
    instead of at the member."""
    branch_pointers: list[str] = []
    for model in set(body_models(app)):
        for name, field in model.model_fields.items():
            member = field.alias or name
            try:
                model.model_validate({member: [[]]})
            except ValidationError as error:
                branch_pointers += [
                    f"{model.__name__}.{member}"
                    for e in error.errors()
                    if e["loc"][:1] == (member,) and e["loc"][1:2] == ("none",)
                ]
    assert sorted(set(branch_pointers)) == []


def test_a_model_named_like_the_problem_is_refused() -> None:
    """A route's own model named Problem would silently take the Problem's place."""

    class Problem(BaseModel):
        pointer: str

    app = FastAPI()

    @app.get("/clash")
    async def clash() -> Problem:
        return Problem(pointer="")

    install(app)
    with pytest.raises(RuntimeError, match="Problem"):
        app.openapi()
