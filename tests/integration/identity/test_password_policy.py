"""The password policy wherever a password is chosen, argon2id parameters and rehashing,
and changing one's own password."""

import uuid
from typing import Any

import pytest
from argon2 import PasswordHasher
from argon2.profiles import RFC_9106_LOW_MEMORY
from httpx import AsyncClient, Response
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.config import Settings
from core.db import scope_to_firm
from core.security import PASSWORD_MIN_LENGTH, hash_password, verify_password
from models import AuditEvent, User
from services.passwords import TOO_COMMON, common_passwords, password_problem
from tests.factories import PASSWORD, make_firm
from tests.invitations import client_mailing_to, invitation_token
from tests.mailbox import Mailbox
from tests.problems import assert_problem, bearer, pointers

NEW_PASSWORD = "a brand new passphrase 2026"


def test_the_bundled_list_is_loaded_and_lower_case() -> None:
    listed = common_passwords()
    assert len(listed) > 5000
    assert {"password", "123456", "qwerty123456", "password1234"} <= listed
    assert all(entry == entry.lower() for entry in listed)


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        (
            "x" * (PASSWORD_MIN_LENGTH - 1),
            f"must be at least {PASSWORD_MIN_LENGTH} characters long",
        ),
        ("Password1234", TOO_COMMON),
        ("QWERTYUIOP123", TOO_COMMON),
        ("iloveyou1234", TOO_COMMON),
        ("x" * 1025, "must be at most 1024 characters long"),
        (PASSWORD, None),
        ("x" * PASSWORD_MIN_LENGTH + "q", None),
    ],
)
def test_password_problems(password: str, problem: str | None) -> None:
    assert password_problem(password) == problem


def signup_body(password: str) -> dict[str, Any]:
    suffix = uuid.uuid4().hex[:8]
    return {
        "firm_name": f"Policy Firm {suffix}",
        "email": f"policy-{suffix}@example.com",
        "password": password,
    }


async def test_signup_refuses_a_common_password(client: AsyncClient) -> None:
    response = await client.post("/v1/signup", json=signup_body("Password1234"))
    problem = assert_problem(response, 422)
    assert problem["errors"] == [{"detail": f"This field {TOO_COMMON}.", "pointer": "/password"}]


async def test_accepting_an_invitation_refuses_a_common_password(
    client: AsyncClient,
    db: AsyncSession,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    mailbox: Mailbox,
) -> None:
    owner = await make_firm(db)
    email = f"inv-{uuid.uuid4().hex[:8]}@example.com"
    async with client_mailing_to(mailbox, settings, sessionmaker) as mailing:
        invited = await mailing.post(
            "/v1/users", json={"email": email, "role": "staff"}, headers=owner.headers
        )
    assert invited.status_code == 201, invited.text
    token = invitation_token(mailbox, email)

    refused = await client.post(
        "/v1/auth/accept-invitation", json={"token": token, "password": "qwertyuiop123"}
    )
    assert pointers(assert_problem(refused, 422)) == {"/password"}
    accepted = await client.post(
        "/v1/auth/accept-invitation", json={"token": token, "password": NEW_PASSWORD}
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.cookies.get("ff_session") == accepted.json()["token"]


async def change(client: AsyncClient, token: str, current: str, new: str) -> Response:
    return await client.post(
        "/v1/auth/password",
        headers=bearer(token),
        json={"current_password": current, "new_password": new},
    )


async def login_token(client: AsyncClient, email: str, password: str = PASSWORD) -> str:
    response = await client.post("/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    return token


async def test_changing_the_password_ends_the_other_sessions_only(
    client: AsyncClient, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    current = await login_token(client, actor.user.email)
    other = await login_token(client, actor.user.email)

    response = await change(client, current, PASSWORD, NEW_PASSWORD)

    assert response.status_code == 204, response.text
    assert (await client.get("/v1/me", headers=bearer(current))).status_code == 200
    assert_problem(await client.get("/v1/me", headers=bearer(other)), 401)
    await login_token(client, actor.user.email, NEW_PASSWORD)
    await scope_to_firm(db, actor.firm.id)
    actions = (
        await db.scalars(
            select(AuditEvent.action).where(
                AuditEvent.firm_id == actor.firm.id, AuditEvent.record_id == actor.user.id
            )
        )
    ).all()
    assert "user.password_changed" in actions


async def test_changing_the_password_checks_the_current_one_and_the_policy(
    client: AsyncClient, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    token = await login_token(client, actor.user.email)

    wrong = await change(client, token, "not my password at all", NEW_PASSWORD)
    assert pointers(assert_problem(wrong, 422)) == {"/current_password"}
    common = await change(client, token, PASSWORD, "Password1234")
    assert pointers(assert_problem(common, 422)) == {"/new_password"}
    short = await change(client, token, PASSWORD, "short")
    assert pointers(assert_problem(short, 422)) == {"/new_password"}
    unauthenticated = await client.post(
        "/v1/auth/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    )
    assert_problem(unauthenticated, 401)
    # Nothing changed.
    await login_token(client, actor.user.email)


def test_hashes_are_argon2id_with_the_documented_parameters() -> None:
    hashed = hash_password(PASSWORD)
    profile = RFC_9106_LOW_MEMORY
    assert hashed.startswith(
        f"$argon2id$v=19$m={profile.memory_cost},t={profile.time_cost},p={profile.parallelism}$"
    )
    # docs/security.md states these numbers.
    assert (profile.memory_cost, profile.time_cost, profile.parallelism) == (65536, 3, 4)


async def test_login_rehashes_when_the_parameters_change(
    client: AsyncClient, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    older = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1).hash(PASSWORD)
    await scope_to_firm(db, actor.firm.id)
    await db.execute(update(User).where(User.id == actor.user.id).values(password_hash=older))
    await db.commit()

    await login_token(client, actor.user.email)

    await scope_to_firm(db, actor.firm.id)
    stored = await db.scalar(select(User.password_hash).where(User.id == actor.user.id))
    assert stored is not None and stored != older
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert verify_password(stored, PASSWORD)


async def test_login_sets_the_session_cookie_and_logout_clears_it(
    client: AsyncClient, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    response = await client.post(
        "/v1/auth/login", json={"email": actor.user.email, "password": PASSWORD}
    )
    token = response.json()["token"]
    assert response.cookies.get("ff_session") == token
    assert response.cookies.get("ff_csrf")

    logout = await client.post("/v1/auth/logout", headers=bearer(token))

    assert logout.status_code == 204
    cleared = [value for value in logout.headers.get_list("set-cookie") if "ff_session=" in value]
    assert cleared and all("Max-Age=0" in value for value in cleared)
