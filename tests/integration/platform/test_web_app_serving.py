"""The API serves the built web app (api/web_app.py): every page address answers index.html
under the strict Content-Security-Policy, hashed assets are cached for a year, and the API's
own addresses never fall back to the page. Built against a dist folder written here, with a
database that is never reached (serving files needs none)."""

import gzip
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from api.app import create_app
from core.config import Settings
from core.temporal import LazyClient
from launcher.processes import free_port

INDEX = (
    '<!doctype html><html><head><script type="module" src="/assets/index-AbC123.js">'
    '</script></head><body><div id="root"></div></body></html>'
)
SCRIPT = "export const answer = 42;\n" * 200
PAGES = ("/", "/clients/123", "/pay/abc?t=x", "/settings/audit-log", "/documents/7", "/healthy")


def web_dist(tmp_path: Path) -> Path:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text(INDEX)
    (dist / "assets" / "index-AbC123.js").write_text(SCRIPT)
    (dist / "favicon.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    return dist


async def served(dist: Path) -> AsyncClient:
    unused = f"postgresql+psycopg://firmflow_app@127.0.0.1:{free_port()}/none"
    settings = Settings(database_url=unused, web_dist=dist, temporal_address="127.0.0.1:1")
    app = create_app(
        settings,
        sessionmaker=async_sessionmaker(create_async_engine(unused)),
        temporal=LazyClient(settings),
    )
    return AsyncClient(
        transport=ASGITransport(app=app, raise_app_exceptions=False), base_url="http://testserver"
    )


@pytest.fixture
async def web(tmp_path: Path) -> AsyncIterator[AsyncClient]:
    async with await served(web_dist(tmp_path)) as client:
        yield client


def directives(policy: str) -> dict[str, list[str]]:
    parsed = (part.split() for part in policy.split(";") if part.strip())
    return {name: sources for name, *sources in parsed}


@pytest.mark.parametrize("page", PAGES)
async def test_every_page_address_answers_the_app_under_the_strict_policy(
    web: AsyncClient, page: str
) -> None:
    answer = await web.get(page)

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.text == INDEX
    policy = directives(answer.headers["content-security-policy"])
    assert policy["script-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["connect-src"] == ["'self'"]
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert answer.headers["cache-control"] == "no-cache"
    assert answer.headers["x-content-type-options"] == "nosniff"


async def test_hashed_assets_are_cached_for_a_year_and_sent_compressed(web: AsyncClient) -> None:
    plain = await web.get("/assets/index-AbC123.js", headers={"Accept-Encoding": "identity"})
    compressed = await web.get("/assets/index-AbC123.js", headers={"Accept-Encoding": "gzip"})

    assert plain.status_code == 200
    assert plain.text == SCRIPT
    assert "javascript" in plain.headers["content-type"]
    assert plain.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert plain.headers["x-content-type-options"] == "nosniff"
    assert "content-encoding" not in plain.headers
    assert compressed.headers["content-encoding"] == "gzip"
    assert compressed.headers["vary"] == "Accept-Encoding"
    assert compressed.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert int(compressed.headers["content-length"]) < len(SCRIPT) / 10
    # httpx decodes it: the same script arrives.
    assert compressed.text == SCRIPT
    assert int(compressed.headers["content-length"]) == len(gzip.compress(SCRIPT.encode(), 9))


async def test_a_range_of_an_asset_is_sent_as_stored(web: AsyncClient) -> None:
    answer = await web.get(
        "/assets/index-AbC123.js", headers={"Accept-Encoding": "gzip", "Range": "bytes=0-9"}
    )

    assert answer.status_code == 206
    assert "content-encoding" not in answer.headers
    assert answer.text == SCRIPT[:10]


async def test_a_missing_asset_is_a_problem_not_the_page(web: AsyncClient) -> None:
    answer = await web.get("/assets/index-Gone99.js")

    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"
    assert "immutable" not in answer.headers.get("cache-control", "")


async def test_a_file_at_the_top_of_the_build_is_served_as_itself(web: AsyncClient) -> None:
    answer = await web.get("/favicon.svg")

    assert answer.status_code == 200
    assert answer.text.startswith("<svg")
    assert answer.headers["content-type"].startswith("image/svg+xml")


@pytest.mark.parametrize(
    "address", ["/v1/nothing-here", "/v1", "/v1/clients/x/nowhere/at/all", "/health/more"]
)
async def test_an_unknown_api_address_stays_the_apis_404(web: AsyncClient, address: str) -> None:
    answer = await web.get(address)

    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["title"] == "Not found"
    assert "content-security-policy" not in answer.headers


async def test_a_change_sent_to_an_unknown_address_is_a_404_not_the_page(
    web: AsyncClient,
) -> None:
    for address in ("/v1/nothing-here", "/clients/123"):
        answer = await web.post(address, json={})
        assert answer.status_code == 404, address
        assert answer.headers["content-type"] == "application/problem+json"


async def test_the_api_reference_still_answers_beside_the_app(web: AsyncClient) -> None:
    docs = await web.get("/docs")
    document = await web.get("/openapi.json")
    health = await web.get("/health")

    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()
    assert document.status_code == 200
    assert "/v1/clients" in document.json()["paths"]
    assert "/{path}" not in document.json()["paths"]
    assert health.status_code == 200


async def test_a_path_climbing_out_of_the_build_answers_the_page(
    web: AsyncClient, tmp_path: Path
) -> None:
    (tmp_path / "secret.txt").write_text("not for the web")

    for address in ("/../secret.txt", "/%2e%2e/secret.txt", "/assets/..%2f..%2fsecret.txt"):
        answer = await web.get(address)
        assert "not for the web" not in answer.text, address


async def test_without_a_build_page_addresses_are_a_404_problem(tmp_path: Path) -> None:
    async with await served(tmp_path / "no-build") as web:
        page = await web.get("/clients/123")
        home = await web.get("/")
        health = await web.get("/health")

    assert page.status_code == 404
    assert page.headers["content-type"] == "application/problem+json"
    assert "make web-build" in page.json()["detail"]
    assert home.status_code == 404
    assert health.status_code == 200
