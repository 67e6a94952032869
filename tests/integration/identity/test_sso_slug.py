"""The firm slug in the public SSO addresses is checked where it enters: a text no firm can
have as its slug is a 404, and it never reaches a response header (the relay cookie's
path is built from it)."""

import pytest
from httpx import AsyncClient, Response

from tests.problems import assert_problem

BAD_SLUGS = [
    "%1F",  # a control character: an invalid header value that made the server hang up
    "abc%3B%20Domain%3Dexample.com",  # "abc; Domain=example.com": a cookie attribute
    "Upper",  # slugs are lower-case
    "-dash-first",
    "a" * 64,
]


async def call(client: AsyncClient, endpoint: str, slug: str) -> Response:
    url = f"/v1/sso/{slug}/{endpoint}"
    if endpoint == "acs":
        return await client.post(url, data={"SAMLResponse": "x", "RelayState": "y"})
    return await client.get(url)


@pytest.mark.parametrize("slug", BAD_SLUGS)
@pytest.mark.parametrize("endpoint", ["acs", "login", "metadata"])
async def test_a_slug_no_firm_can_have_is_a_clean_404(
    client: AsyncClient, endpoint: str, slug: str
) -> None:
    response = await call(client, endpoint, slug)

    problem = assert_problem(response, 404)
    assert problem["type"] == "https://firmflow.dev/problems/not-found"
    assert "firm_slug" in problem["detail"]
    assert "set-cookie" not in response.headers


async def test_the_openapi_document_declares_the_slug_pattern(client: AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    for endpoint, method in [("acs", "post"), ("login", "get"), ("metadata", "get")]:
        (parameter,) = (
            p
            for p in paths[f"/v1/sso/{{firm_slug}}/{endpoint}"][method]["parameters"]
            if p["name"] == "firm_slug"
        )
        assert parameter["schema"]["pattern"] == "^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"
