"""Browser sessions: the HttpOnly session cookie beside bearer tokens, and the CSRF checks
(double-submit token and Origin) on unsafe requests authenticated by that cookie."""

from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie
from typing import Any

import pytest
from httpx import AsyncClient, Response
from sqlalchemy.ext.asyncio import AsyncSession

from api.session_cookie import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE, origin_of
from core.config import Settings
from core.db import scope_to_firm
from core.roles import Role
from services.tokens import issue_login_session
from tests.factories import PASSWORD, Actor, add_user, make_firm
from tests.problems import assert_problem, bearer

CSRF = "csrf-value-of-this-browser"
CSRF_REFUSED = "https://firmflow.dev/problems/csrf-refused"


async def sign_in(db: AsyncSession, actor: Actor) -> str:
    """A login session token, as login would put it in the cookie."""
    await scope_to_firm(db, actor.firm.id)
    expires_at = datetime.now(UTC) + timedelta(hours=1)
    _, token = await issue_login_session(db, actor.user, expires_at=expires_at)
    await db.commit()
    return token


def browser(
    settings: Settings,
    session_token: str,
    *,
    csrf_cookie: str | None = CSRF,
    csrf_header: str | None = CSRF,
    origin: str | None = "ours",
    referer: str | None = None,
) -> dict[str, str]:
    """The headers a browser page of ours sends: the cookies, and for unsafe requests the
    echoed CSRF token and its Origin."""
    cookies = [f"{SESSION_COOKIE}={session_token}"]
    if csrf_cookie is not None:
        cookies.append(f"{CSRF_COOKIE}={csrf_cookie}")
    headers = {"Cookie": "; ".join(cookies)}
    if csrf_header is not None:
        headers[CSRF_HEADER] = csrf_header
    if origin is not None:
        headers["Origin"] = settings.public_url if origin == "ours" else origin
    if referer is not None:
        headers["Referer"] = referer
    return headers


async def create_client(client: AsyncClient, headers: dict[str, str], name: str) -> Response:
    return await client.post("/v1/clients", json={"name": name}, headers=headers)


async def client_names(client: AsyncClient, owner: Actor) -> list[str]:
    response = await client.get("/v1/clients", headers=owner.headers)
    return [item["name"] for item in response.json()["items"]]


def assert_csrf_refused(response: Response) -> dict[str, Any]:
    body = assert_problem(response, 403)
    assert body["type"] == CSRF_REFUSED, body
    return body


async def test_safe_methods_need_only_the_cookie(
    client: AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    owner = await make_firm(db)
    token = await sign_in(db, owner)
    headers = {"Cookie": f"{SESSION_COOKIE}={token}"}

    me = await client.get("/v1/me", headers=headers)
    listed = await client.get("/v1/clients", headers=headers)

    assert me.status_code == 200, me.text
    assert me.json()["credential"] == "session"
    assert me.json()["user"]["id"] == str(owner.user.id)
    assert listed.status_code == 200


async def test_an_unsafe_request_with_token_and_origin_goes_through(
    client: AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    owner = await make_firm(db)
    token = await sign_in(db, owner)

    response = await create_client(client, browser(settings, token), "From the browser")

    assert response.status_code == 201, response.text
    assert "From the browser" in await client_names(client, owner)


@pytest.mark.parametrize(
    "csrf",
    [
        {"csrf_header": None},
        {"csrf_header": ""},
        {"csrf_header": "something-else"},
        {"csrf_header": CSRF + "x"},
        {"csrf_cookie": None},
        {"csrf_cookie": None, "csrf_header": None},
        {"csrf_cookie": "", "csrf_header": ""},
    ],
    ids=["no header", "empty header", "wrong", "longer", "no cookie", "neither", "both empty"],
)
async def test_a_missing_or_wrong_csrf_token_is_refused(
    client: AsyncClient, db: AsyncSession, settings: Settings, csrf: dict[str, str | None]
) -> None:
    owner = await make_firm(db)
    token = await sign_in(db, owner)

    response = await create_client(client, browser(settings, token, **csrf), "Forged")

    assert "X-CSRF-Token" in assert_csrf_refused(response)["detail"]
    assert "Forged" not in await client_names(client, owner)


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "http://127.0.0.1:8001",
        "https://127.0.0.1:8000",
        "http://127.0.0.1.evil.example:8000",
        "null",
        "",
        "not a url",
    ],
)
async def test_a_foreign_origin_is_refused(
    client: AsyncClient, db: AsyncSession, settings: Settings, origin: str
) -> None:
    owner = await make_firm(db)
    token = await sign_in(db, owner)

    response = await create_client(client, browser(settings, token, origin=origin), "Forged")

    assert_csrf_refused(response)
    assert "Forged" not in await client_names(client, owner)


async def test_referer_stands_in_for_a_missing_origin(
    client: AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    owner = await make_firm(db)
    token = await sign_in(db, owner)
    ours = f"{settings.public_url}/app/clients?tab=new"

    allowed = await create_client(
        client, browser(settings, token, origin=None, referer=ours), "Via referer"
    )
    foreign = await create_client(
        client,
        browser(settings, token, origin=None, referer="https://evil.example/page"),
        "Foreign referer",
    )
    neither = await create_client(client, browser(settings, token, origin=None), "No origin")

    assert allowed.status_code == 201, allowed.text
    assert_csrf_refused(foreign)
    assert "Origin or Referer" in assert_csrf_refused(neither)["detail"]
    assert set(await client_names(client, owner)) == {"Via referer"}


async def test_every_unsafe_method_is_checked(
    client: AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    owner = await make_firm(db)
    created = await create_client(client, owner.headers, "Target")
    client_id = created.json()["id"]
    token = await sign_in(db, owner)
    forged = browser(settings, token, csrf_header=None)

    for method, path, body in (
        ("PATCH", f"/v1/clients/{client_id}", {"name": "Hijacked"}),
        ("POST", f"/v1/clients/{client_id}/archive", None),
        ("DELETE", f"/v1/me/sessions/{owner.user.id}", None),
        ("POST", "/v1/me/sessions/revoke-all", None),
        ("POST", "/v1/auth/logout", None),
    ):
        response = await client.request(method, path, json=body, headers=forged)
        assert_csrf_refused(response)

    assert (await client.get("/v1/me", headers=bearer(token))).status_code == 200
    assert await client_names(client, owner) == ["Target"]


async def test_bearer_requests_need_no_csrf_and_win_over_the_cookie(
    client: AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    owner = await make_firm(db)
    staff = await add_user(db, owner, Role.staff)
    staff_cookie = await sign_in(db, staff)

    plain = await create_client(client, owner.headers, "By script")
    # A script carrying a browser's cookies still acts with its own bearer token, and
    # without CSRF headers: it is not a browser page.
    both = {"Cookie": f"{SESSION_COOKIE}={staff_cookie}", **owner.headers}
    me = await client.get("/v1/me", headers=both)
    unsafe = await create_client(client, both, "Bearer and cookie")

    assert plain.status_code == 201 and unsafe.status_code == 201
    assert me.json()["user"]["id"] == str(owner.user.id)
    assert me.json()["credential"] == "api_token"


async def test_the_cookie_holds_only_a_usable_login_session(
    client: AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    owner = await make_firm(db)
    token = await sign_in(db, owner)
    await client.post("/v1/auth/logout", headers=bearer(token))

    for value in (owner.token, token, "ffs_not-a-real-session", "garbage"):
        response = await client.get("/v1/me", headers={"Cookie": f"{SESSION_COOKIE}={value}"})
        assert_problem(response, 401)
    # The API token is valid as a bearer: the cookie refused it for what it is.
    assert (await client.get("/v1/me", headers=owner.headers)).status_code == 200
    anonymous = await client.get("/v1/me")
    assert_problem(anonymous, 401)
    assert anonymous.headers["WWW-Authenticate"] == "Bearer"


def set_cookies(response: Response) -> dict[str, Any]:
    parsed: dict[str, Any] = {}
    for header in response.headers.get_list("set-cookie"):
        cookie = SimpleCookie()
        cookie.load(header)
        for name, morsel in cookie.items():
            parsed[name] = morsel
    return parsed


async def test_login_sets_the_cookies_a_browser_then_uses(
    client: AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    owner = await make_firm(db)

    login = await client.post(
        "/v1/auth/login", json={"email": owner.user.email, "password": PASSWORD}
    )

    assert login.status_code == 200, login.text
    cookies = set_cookies(login)
    session_cookie, csrf_cookie = cookies[SESSION_COOKIE], cookies[CSRF_COOKIE]
    assert session_cookie.value == login.json()["token"]
    assert session_cookie["httponly"] is True
    assert session_cookie["samesite"].lower() == "lax"
    assert session_cookie["path"] == "/"
    assert bool(session_cookie["secure"]) is settings.cookie_secure
    # The page's script reads the CSRF cookie to echo it.
    assert not csrf_cookie["httponly"]
    assert csrf_cookie.value and csrf_cookie.value != session_cookie.value

    headers = browser(
        settings,
        session_cookie.value,
        csrf_cookie=csrf_cookie.value,
        csrf_header=csrf_cookie.value,
    )
    created = await create_client(client, headers, "After login")
    assert created.status_code == 201, created.text


async def test_revoking_the_cookie_session_clears_the_cookies(
    client: AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    owner = await make_firm(db)
    token = await sign_in(db, owner)
    listed = await client.get("/v1/me/sessions", headers={"Cookie": f"{SESSION_COOKIE}={token}"})
    [current] = [item for item in listed.json()["items"] if item["current"]]
    other = await sign_in(db, owner)
    others = await client.get("/v1/me/sessions", headers=bearer(other))
    [other_item] = [item for item in others.json()["items"] if item["current"]]

    # Revoking another session by cookie leaves this browser's cookies alone...
    kept = await client.delete(
        f"/v1/me/sessions/{other_item['id']}", headers=browser(settings, token)
    )
    assert kept.status_code == 204 and set_cookies(kept) == {}
    # ...revoking the one it is signed in with clears them.
    ended = await client.delete(
        f"/v1/me/sessions/{current['id']}", headers=browser(settings, token)
    )

    assert ended.status_code == 204
    cleared = set_cookies(ended)
    assert cleared[SESSION_COOKIE].value == "" and cleared[CSRF_COOKIE].value == ""
    assert int(cleared[SESSION_COOKIE]["max-age"]) == 0
    assert_problem(await client.get("/v1/me", headers=bearer(token)), 401)


def test_origins_are_compared_by_scheme_host_and_effective_port() -> None:
    assert origin_of("https://App.Example.com:443/x?y") == "https://app.example.com"
    assert origin_of("http://example.com:80") == "http://example.com"
    assert origin_of("http://example.com:8080/") == "http://example.com:8080"
    assert origin_of("http://[::1]:8000") == "http://[::1]:8000"
    for bad in ("null", "", "/relative", "ftp://example.com", "http://", "http://x:99999"):
        assert origin_of(bad) is None, bad
