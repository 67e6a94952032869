"""Signup, login, logout and /me through the HTTP API on real Postgres."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from httpx import ASGITransport, AsyncClient, Response
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.config import Settings
from core.db import scope_to_firm
from core.roles import Role
from core.security import hash_token, verify_password
from models import ApiToken, LoginSession, User
from services.auth import BAD_CREDENTIALS, FIRM_REQUIRED
from tests.audit import audit_actions
from tests.factories import PASSWORD, Actor, add_user, make_firm
from tests.problems import assert_problem, bearer, pointers


def signup_body(**overrides: Any) -> dict[str, Any]:
    suffix = uuid.uuid4().hex[:8]
    body: dict[str, Any] = {
        "firm_name": f"Signup Firm {suffix}",
        "firm_slug": f"signup-{suffix}",
        "name": "Olive Owner",
        "email": f"olive-{suffix}@example.com",
        "password": PASSWORD,
    }
    body.update(overrides)
    return body


async def login(
    client: AsyncClient, email: str, password: str = PASSWORD, **extra: Any
) -> Response:
    return await client.post("/v1/auth/login", json={"email": email, "password": password, **extra})


# Signup


async def test_signup_creates_firm_owner_and_signs_in(
    client: AsyncClient, db: AsyncSession
) -> None:
    body = signup_body(email="Olive.Owner@Example.com", time_zone="Europe/Paris")
    response = await client.post("/v1/signup", json=body)

    assert response.status_code == 201, response.text
    created = response.json()
    assert created["firm"]["slug"] == body["firm_slug"]
    assert created["firm"]["time_zone"] == "Europe/Paris"
    assert created["user"]["role"] == "owner"
    assert created["user"]["email"] == "olive.owner@example.com"
    assert created["user"]["password_set"] is True
    assert created["token"].startswith("ffs_")

    me = await client.get("/v1/me", headers=bearer(created["token"]))
    assert me.status_code == 200, me.text
    assert me.json()["firm"]["id"] == created["firm"]["id"]
    assert me.json()["credential"] == "session"

    firm_id = uuid.UUID(created["firm"]["id"])
    await scope_to_firm(db, firm_id)
    owner = await db.scalar(select(User).where(User.firm_id == firm_id))
    assert owner is not None and owner.password_hash is not None
    assert PASSWORD not in owner.password_hash
    assert verify_password(owner.password_hash, PASSWORD)
    stored = await db.scalar(select(LoginSession).where(LoginSession.firm_id == firm_id))
    assert stored is not None
    assert stored.token_hash == hash_token(created["token"])
    assert stored.token_hash != created["token"]
    assert await audit_actions(db, firm_id) == ["firm.created", "auth.login"]


async def test_signup_derives_slug_from_firm_name(client: AsyncClient) -> None:
    name = f"Smith & Jones {uuid.uuid4().hex[:6]} LLP"
    response = await client.post("/v1/signup", json=signup_body(firm_name=name, firm_slug=None))
    assert response.status_code == 201, response.text
    assert response.json()["firm"]["slug"] == name.lower().replace(" & ", "-").replace(" ", "-")


async def test_signup_duplicate_slug_is_409(client: AsyncClient) -> None:
    first = signup_body()
    assert (await client.post("/v1/signup", json=first)).status_code == 201
    again = signup_body(firm_slug=first["firm_slug"].upper())

    problem = assert_problem(await client.post("/v1/signup", json=again), 409)

    assert first["firm_slug"] in problem["detail"]
    # The losing signup left no owner behind.
    assert_problem(await login(client, again["email"]), 401)


@pytest.fixture
async def signup_off_client(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[AsyncClient]:
    from api.app import create_app

    app = create_app(
        settings.model_copy(update={"signup_enabled": False}), sessionmaker=sessionmaker
    )
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def test_signup_disabled_is_403_and_creates_nothing(
    signup_off_client: AsyncClient, client: AsyncClient
) -> None:
    body = signup_body()

    problem = assert_problem(await signup_off_client.post("/v1/signup", json=body), 403)

    assert "signup is turned off" in problem["detail"]
    # Nothing was created: the same slug is still free on a server with signup on.
    assert (await client.post("/v1/signup", json=body)).status_code == 201


@pytest.mark.parametrize(
    ("overrides", "pointer"),
    [
        ({"password": "x" * 11}, "/password"),
        ({"password": "x" * 1025}, "/password"),
        ({"email": "not-an-email"}, "/email"),
        ({"firm_slug": "-bad slug-"}, "/firm_slug"),
        ({"firm_name": ""}, "/firm_name"),
        ({"time_zone": "Mars/Olympus_Mons"}, "/time_zone"),
        ({"default_currency": "euro"}, "/default_currency"),
        ({"role": "owner"}, "/role"),
    ],
)
async def test_signup_validation_errors_are_problems_with_pointers(
    client: AsyncClient, overrides: dict[str, Any], pointer: str
) -> None:
    problem = assert_problem(await client.post("/v1/signup", json=signup_body(**overrides)), 422)
    assert pointers(problem) == {pointer}


async def test_signup_missing_fields_point_at_each(client: AsyncClient) -> None:
    problem = assert_problem(await client.post("/v1/signup", json={}), 422)
    assert pointers(problem) == {"/firm_name", "/email", "/password"}


async def test_password_length_boundaries(client: AsyncClient) -> None:
    assert (await client.post("/v1/signup", json=signup_body(password="p" * 12))).status_code == 201
    assert (
        await client.post("/v1/signup", json=signup_body(password="p" * 1024))
    ).status_code == 201


# Login


async def test_login_returns_a_session_that_expires_after_the_ttl(
    client: AsyncClient, db: AsyncSession, settings: Settings
) -> None:
    actor = await make_firm(db)
    before = datetime.now(UTC)

    response = await login(client, actor.user.email.upper())

    assert response.status_code == 200, response.text
    session = response.json()
    assert session["user"]["id"] == str(actor.user.id)
    assert session["firm"]["slug"] == actor.firm.slug
    ttl = timedelta(hours=settings.session_ttl_hours)
    expires_at = datetime.fromisoformat(session["expires_at"])
    assert before + ttl <= expires_at <= datetime.now(UTC) + ttl
    me = await client.get("/v1/me", headers=bearer(session["token"]))
    assert me.status_code == 200
    assert me.json()["user"]["last_login_at"] is not None
    assert (await audit_actions(db, actor.firm.id))[-1] == "auth.login"


async def test_wrong_password_and_unknown_email_get_the_same_answer(
    client: AsyncClient, db: AsyncSession
) -> None:
    actor = await make_firm(db)

    wrong_password = await login(client, actor.user.email, "not the right password")
    unknown_email = await login(client, f"nobody-{uuid.uuid4().hex}@example.com")

    # Identical but for the per-request id.
    first, second = assert_problem(wrong_password, 401), assert_problem(unknown_email, 401)
    assert first.pop("request_id") != second.pop("request_id")
    assert first == second
    assert wrong_password.json()["detail"] == BAD_CREDENTIALS
    assert wrong_password.headers.get("www-authenticate") == unknown_email.headers.get(
        "www-authenticate"
    )
    assert await audit_actions(db, actor.firm.id) == ["firm.created"]


async def test_unknown_email_costs_one_argon2_verification_like_a_wrong_password(
    client: AsyncClient, db: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The spy wraps argon2 (third-party) and still runs each real verification."""
    actor = await make_firm(db)
    verified: list[str] = []
    real_verify = PasswordHasher.verify

    def spy(self: PasswordHasher, hash: str | bytes, password: str | bytes) -> bool:
        verified.append(hash if isinstance(hash, str) else hash.decode())
        return real_verify(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", spy)

    assert_problem(await login(client, f"nobody-{uuid.uuid4().hex}@example.com"), 401)
    assert len(verified) == 1
    assert verified[0].startswith("$argon2id$")
    assert_problem(await login(client, actor.user.email, "not the right password"), 401)
    assert len(verified) == 2
    assert verified[1] != verified[0]


async def test_deactivated_and_invited_users_cannot_log_in(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    staff = await add_user(db, owner, Role.staff)
    deactivated = await client.patch(
        f"/v1/users/{staff.user.id}", json={"is_active": False}, headers=owner.headers
    )
    assert deactivated.status_code == 200, deactivated.text
    invited = await client.post(
        "/v1/users",
        json={"email": "invitee@example.com", "role": "staff"},
        headers=owner.headers,
    )
    assert invited.status_code == 201, invited.text

    for email in (staff.user.email, "invitee@example.com"):
        problem = assert_problem(await login(client, email), 401)
        assert problem["detail"] == BAD_CREDENTIALS


async def test_email_in_two_firms_with_one_password_needs_the_firm_slug(
    client: AsyncClient, db: AsyncSession
) -> None:
    email = f"shared-{uuid.uuid4().hex[:8]}@example.com"
    slugs = []
    for _ in range(2):
        body = signup_body(email=email)
        assert (await client.post("/v1/signup", json=body)).status_code == 201
        slugs.append(body["firm_slug"])

    problem = assert_problem(await login(client, email), 401)
    assert problem["detail"] == FIRM_REQUIRED

    for slug in slugs:
        response = await login(client, email, firm_slug=slug)
        assert response.status_code == 200, response.text
        assert response.json()["firm"]["slug"] == slug
    wrong_password = await login(client, email, "wrong password, long", firm_slug=slugs[0])
    assert assert_problem(wrong_password, 401)["detail"] == BAD_CREDENTIALS


async def test_email_in_two_firms_with_different_passwords_needs_no_slug(
    client: AsyncClient,
) -> None:
    email = f"shared-{uuid.uuid4().hex[:8]}@example.com"
    first, second = signup_body(email=email), signup_body(email=email, password="another password!")
    assert (await client.post("/v1/signup", json=first)).status_code == 201
    assert (await client.post("/v1/signup", json=second)).status_code == 201

    response = await login(client, email, "another password!")

    assert response.status_code == 200, response.text
    assert response.json()["firm"]["slug"] == second["firm_slug"]


async def test_login_with_another_firms_slug_fails_like_a_wrong_password(
    client: AsyncClient, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    other = await make_firm(db)

    problem = assert_problem(await login(client, actor.user.email, firm_slug=other.firm.slug), 401)

    assert problem["detail"] == BAD_CREDENTIALS


async def test_login_upgrades_a_weak_password_hash(client: AsyncClient, db: AsyncSession) -> None:
    actor = await make_firm(db)
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    await scope_to_firm(db, actor.firm.id)
    await db.execute(update(User).where(User.id == actor.user.id).values(password_hash=weak))
    await db.commit()

    assert (await login(client, actor.user.email)).status_code == 200

    await scope_to_firm(db, actor.firm.id)
    stored = await db.scalar(select(User.password_hash).where(User.id == actor.user.id))
    assert stored is not None and stored != weak
    assert stored.startswith("$argon2id$") and verify_password(stored, PASSWORD)


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"email": "a@example.com"}, "/password"),
        ({"password": PASSWORD}, "/email"),
        ({"email": "a@example.com", "password": "x" * 1025}, "/password"),
        ({"email": "a@example.com", "password": PASSWORD, "remember": True}, "/remember"),
    ],
)
async def test_login_validation_errors(
    client: AsyncClient, body: dict[str, Any], pointer: str
) -> None:
    problem = assert_problem(await client.post("/v1/auth/login", json=body), 422)
    assert pointers(problem) == {pointer}


async def test_short_password_at_login_is_just_wrong(client: AsyncClient, db: AsyncSession) -> None:
    actor = await make_firm(db)
    problem = assert_problem(await login(client, actor.user.email, "short"), 401)
    assert problem["detail"] == BAD_CREDENTIALS


# Logout, sessions, /me


async def login_session(client: AsyncClient, actor: Actor) -> str:
    response = await login(client, actor.user.email)
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    return token


async def test_logout_revokes_the_current_session_only(
    client: AsyncClient, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    first = await login_session(client, actor)
    second = await login_session(client, actor)

    response = await client.post("/v1/auth/logout", headers=bearer(first))

    assert response.status_code == 204, response.text
    assert_problem(await client.get("/v1/me", headers=bearer(first)), 401)
    assert (await client.get("/v1/me", headers=bearer(second))).status_code == 200
    assert (await client.get("/v1/me", headers=actor.headers)).status_code == 200
    assert (await audit_actions(db, actor.firm.id))[-1] == "auth.logout"


async def test_logout_with_an_api_token_is_400(client: AsyncClient, db: AsyncSession) -> None:
    actor = await make_firm(db)
    problem = assert_problem(await client.post("/v1/auth/logout", headers=actor.headers), 400)
    assert "/v1/api-tokens" in problem["detail"]
    assert (await client.get("/v1/me", headers=actor.headers)).status_code == 200


async def test_logout_without_credentials_is_401(client: AsyncClient) -> None:
    assert_problem(await client.post("/v1/auth/logout"), 401)


async def test_expired_session_is_401(client: AsyncClient, db: AsyncSession) -> None:
    actor = await make_firm(db)
    token = await login_session(client, actor)
    await scope_to_firm(db, actor.firm.id)
    await db.execute(
        update(LoginSession)
        .where(LoginSession.token_hash == hash_token(token))
        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    await db.commit()

    problem = assert_problem(await client.get("/v1/me", headers=bearer(token)), 401)

    assert problem["detail"] == "Invalid or expired credentials"


async def test_me_describes_the_caller(client: AsyncClient, db: AsyncSession) -> None:
    actor = await make_firm(db)
    builder = await add_user(db, actor, Role.builder)

    response = await client.get("/v1/me", headers=builder.headers)

    assert response.status_code == 200
    me = response.json()
    assert me["user"]["id"] == str(builder.user.id)
    assert me["user"]["role"] == "builder"
    assert me["firm"]["id"] == str(actor.firm.id)
    assert me["credential"] == "api_token"
    assert "password_hash" not in me["user"]


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer ffs_not-a-real-token",
        "Bearer ffi_looks-like-an-invitation",
        "Basic Zm9vOmJhcg==",
    ],
)
async def test_me_without_a_valid_token_is_401(
    client: AsyncClient, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    assert_problem(await client.get("/v1/me", headers=headers), 401)


async def test_last_used_is_recorded_at_most_once_a_minute(
    client: AsyncClient, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    token_hash = hash_token(actor.token)

    async def last_used() -> datetime | None:
        await scope_to_firm(db, actor.firm.id)
        value: datetime | None = await db.scalar(
            select(ApiToken.last_used_at).where(ApiToken.token_hash == token_hash)
        )
        return value

    assert await last_used() is None
    assert (await client.get("/v1/me", headers=actor.headers)).status_code == 200
    first = await last_used()
    assert first is not None
    assert (await client.get("/v1/me", headers=actor.headers)).status_code == 200
    assert await last_used() == first

    stale = first - timedelta(minutes=2)
    await db.execute(
        update(ApiToken).where(ApiToken.token_hash == token_hash).values(last_used_at=stale)
    )
    assert (await client.get("/v1/me", headers=actor.headers)).status_code == 200
    refreshed = await last_used()
    assert refreshed is not None and refreshed > stale
