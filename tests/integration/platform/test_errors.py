"""Every error is RFC 9457 problem+json, the framework's own included, and a crash tells the
caller nothing but the request id it can quote."""

import io
import json
import logging
from collections.abc import AsyncIterator, Iterator

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.app import create_app
from core.config import Settings
from core.logging import RedactingJsonFormatter, RequestIdFilter
from tests.factories import make_firm

PROBLEM = "application/problem+json"
TYPES = "https://firmflow.dev/problems/"
INTERNAL = "tables exploded at row 42 password=hunter2"


def assert_problem(response_json: dict[str, object], status: int, slug: str, path: str) -> None:
    assert response_json["status"] == status
    assert response_json["type"] == TYPES + slug
    assert isinstance(response_json["title"], str) and response_json["title"]
    assert isinstance(response_json["detail"], str) and response_json["detail"]
    assert response_json["instance"] == path


@pytest.fixture
async def crashing_client(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[AsyncClient]:
    """The real app plus one route that fails the way a bug does."""
    app = create_app(settings, sessionmaker=sessionmaker)

    async def explode() -> None:
        raise RuntimeError(INTERNAL)

    app.add_api_route("/test-only/explode", explode, methods=["GET"])
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
def error_logs() -> Iterator[io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(RedactingJsonFormatter())
    handler.addFilter(RequestIdFilter())
    handler.setLevel(logging.ERROR)
    logging.getLogger().addHandler(handler)
    yield out
    logging.getLogger().removeHandler(handler)


async def test_unknown_route_is_a_404_problem(client: AsyncClient) -> None:
    response = await client.get("/v1/no-such-thing", headers={"X-Request-ID": "req-404"})
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert_problem(body, 404, "not-found", "/v1/no-such-thing")
    assert body["request_id"] == "req-404" == response.headers["X-Request-ID"]


async def test_wrong_method_is_a_405_problem_listing_the_allowed_ones(client: AsyncClient) -> None:
    response = await client.delete("/health")
    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["Allow"] == "GET"
    assert_problem(response.json(), 405, "method-not-allowed", "/health")


async def test_invalid_body_is_a_422_with_a_pointer_per_field(client: AsyncClient) -> None:
    response = await client.post(
        "/v1/auth/login", json={"email": "not-an-email", "password": "", "remember": True}
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert_problem(body, 422, "validation-error", "/v1/auth/login")
    pointers = sorted(error["pointer"] for error in body["errors"])
    assert pointers == ["/email", "/password", "/remember"]
    assert all(error["detail"] for error in body["errors"])


async def test_nested_body_errors_point_into_the_document(
    client: AsyncClient, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    response = await client.post(
        "/v1/clients", json={"name": "Northwind", "tags": ["vip", 7]}, headers=actor.headers
    )
    assert response.status_code == 422
    assert [error["pointer"] for error in response.json()["errors"]] == ["/tags/1"]


async def test_a_missing_body_points_at_the_whole_document(client: AsyncClient) -> None:
    response = await client.post("/v1/auth/login")
    assert response.status_code == 422
    assert [error["pointer"] for error in response.json()["errors"]] == [""]


async def test_malformed_json_is_a_422_problem(client: AsyncClient) -> None:
    response = await client.post(
        "/v1/auth/login", content=b'{"email": ', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    [error] = response.json()["errors"]
    assert error == {"detail": "The body is not valid JSON; correct its syntax.", "pointer": ""}


async def test_a_body_that_is_not_utf8_is_a_400_in_our_words(client: AsyncClient) -> None:
    response = await client.post(
        "/v1/auth/login",
        content='{"email": "é"}'.encode("latin-1"),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    body = response.json()
    assert_problem(body, 400, "bad-request", "/v1/auth/login")
    assert body["title"] == "Bad request"
    assert "error parsing" not in body["detail"]
    assert body["detail"].startswith("The request body could not be read")


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "text/csv"])
async def test_a_json_body_sent_as_another_media_type_is_a_415(
    client: AsyncClient, db: AsyncSession, content_type: str
) -> None:
    owner = await make_firm(db)
    response = await client.post(
        "/v1/clients",
        content=b'{"name": "Acme"}',
        headers={**owner.headers, "Content-Type": content_type},
    )
    assert response.status_code == 415
    body = response.json()
    assert_problem(body, 415, "unsupported-media-type", "/v1/clients")
    assert "Content-Type: application/json" in body["detail"]
    listed = await client.get("/v1/clients", headers=owner.headers)
    assert listed.json()["items"] == []


async def test_json_and_its_suffixes_are_read_and_declared_415_on_every_body(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    for content_type in ("application/json", "application/merge-patch+json; charset=utf-8"):
        response = await client.post(
            "/v1/clients",
            content=b'{"name": "Acme"}',
            headers={**owner.headers, "Content-Type": content_type},
        )
        assert response.status_code == 201, response.text
    document = (await client.get("/openapi.json")).json()
    with_bodies = [
        operation
        for path in document["paths"].values()
        for operation in path.values()
        if "requestBody" in operation
    ]
    assert with_bodies and all("415" in op["responses"] for op in with_bodies)


async def test_invalid_query_parameter_names_the_parameter(
    client: AsyncClient, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    response = await client.get("/v1/clients?limit=1000", headers=actor.headers)
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["parameter"] == "limit"
    assert error["in"] == "query"
    assert "pointer" not in error


async def test_an_unexpected_exception_is_a_500_problem_without_internal_text(
    crashing_client: AsyncClient, error_logs: io.StringIO
) -> None:
    response = await crashing_client.get("/test-only/explode")
    assert response.status_code == 500
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert_problem(body, 500, "internal", "/test-only/explode")
    assert body["request_id"] == response.headers["X-Request-ID"]
    for leak in ("tables exploded", "hunter2", "RuntimeError", "Traceback", "explode()"):
        assert leak not in response.text

    # The server log has what the caller does not: the error, under the same request id.
    [logged] = [json.loads(line) for line in error_logs.getvalue().splitlines()]
    assert logged["message"] == "unhandled error"
    assert logged["request_id"] == body["request_id"]
    assert "tables exploded at row 42" in logged["exc_info"]
    assert "hunter2" not in logged["exc_info"]


async def test_app_errors_keep_their_status_and_headers(client: AsyncClient) -> None:
    response = await client.get("/v1/me")
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert_problem(response.json(), 401, "unauthorized", "/v1/me")
