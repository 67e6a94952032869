"""Password reset through the API, with the email going to a real SMTP server on loopback."""

import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from httpx import AsyncClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.config import Settings
from core.db import scope_to_firm
from core.roles import Role
from core.security import hash_token
from models import AuditEvent, PasswordResetToken, User
from tests.factories import PASSWORD, Actor, add_user, make_firm
from tests.invitations import PUBLIC_URL, client_mailing_to
from tests.mailbox import Mailbox
from tests.problems import assert_problem, bearer, pointers

NEW_PASSWORD = "a brand new passphrase 2026"


@pytest.fixture
async def client(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], mailbox: Mailbox
) -> AsyncIterator[AsyncClient]:
    """The app with its email backend set to SMTP at the test's mailbox."""
    async with client_mailing_to(mailbox, settings, sessionmaker) as http:
        yield http


def token_in(mailbox: Mailbox, index: int = 0) -> str:
    found = re.search(
        re.escape(PUBLIC_URL) + r"/reset-password#token=(ffr_[A-Za-z0-9_-]+)", mailbox.body(index)
    )
    assert found is not None, mailbox.body(index)
    return found.group(1)


async def request_reset(client: AsyncClient, email: str) -> None:
    response = await client.post("/v1/auth/password-reset", json={"email": email})
    assert response.status_code == 202, response.text
    assert response.content == b"null"


async def confirm(client: AsyncClient, token: str, password: str = NEW_PASSWORD) -> int:
    response = await client.post(
        "/v1/auth/password-reset/confirm", json={"token": token, "password": password}
    )
    return response.status_code


async def login_status(client: AsyncClient, email: str, password: str) -> int:
    response = await client.post("/v1/auth/login", json={"email": email, "password": password})
    return response.status_code


async def test_reset_by_email_link_sets_the_password_and_ends_every_session(
    client: AsyncClient, db: AsyncSession, mailbox: Mailbox
) -> None:
    actor = await make_firm(db)
    sessions = []
    for _ in range(2):
        response = await client.post(
            "/v1/auth/login", json={"email": actor.user.email, "password": PASSWORD}
        )
        sessions.append(response.json()["token"])
    for token in sessions:
        assert (await client.get("/v1/me", headers=bearer(token))).status_code == 200

    await request_reset(client, actor.user.email.upper())

    assert mailbox.recipients == [[actor.user.email]]
    assert actor.firm.name in mailbox.messages[0]["Subject"]
    assert "30 minutes" in mailbox.body(0)
    token = token_in(mailbox)
    assert await confirm(client, token) == 204

    for old in sessions:
        assert_problem(await client.get("/v1/me", headers=bearer(old)), 401)
    assert await login_status(client, actor.user.email, PASSWORD) == 401
    assert await login_status(client, actor.user.email, NEW_PASSWORD) == 200
    # The API token is a separate, deliberate credential: it still works.
    assert (await client.get("/v1/me", headers=actor.headers)).status_code == 200

    await scope_to_firm(db, actor.firm.id)
    stored = await db.scalar(
        select(PasswordResetToken).where(PasswordResetToken.user_id == actor.user.id)
    )
    assert stored is not None and stored.token_hash == hash_token(token)
    assert stored.used_at is not None
    actions = (
        await db.scalars(
            select(AuditEvent.action).where(
                AuditEvent.firm_id == actor.firm.id, AuditEvent.record_id == actor.user.id
            )
        )
    ).all()
    assert {"user.password_reset_requested", "user.password_reset"} <= set(actions)


async def test_unknown_email_gets_the_same_answer_and_no_mail(
    client: AsyncClient, mailbox: Mailbox
) -> None:
    await request_reset(client, f"nobody-{uuid.uuid4().hex}@example.com")
    assert mailbox.messages == []


async def test_inactive_and_invited_users_get_no_mail(
    client: AsyncClient, db: AsyncSession, mailbox: Mailbox
) -> None:
    actor = await make_firm(db)
    staff = await add_user(db, actor, Role.staff)
    await scope_to_firm(db, actor.firm.id)
    await db.execute(update(User).where(User.id == staff.user.id).values(is_active=False))
    invited = User(
        firm_id=actor.firm.id, email=f"inv-{uuid.uuid4().hex[:6]}@example.com", role=Role.staff
    )
    db.add(invited)
    await db.commit()

    await request_reset(client, staff.user.email)
    await request_reset(client, invited.email)

    assert mailbox.messages == []


async def test_a_token_works_once(client: AsyncClient, db: AsyncSession, mailbox: Mailbox) -> None:
    actor = await make_firm(db)
    await request_reset(client, actor.user.email)
    token = token_in(mailbox)

    assert await confirm(client, token) == 204
    response = await client.post(
        "/v1/auth/password-reset/confirm",
        json={"token": token, "password": "yet another passphrase 77"},
    )

    assert "already been used" in assert_problem(response, 409)["detail"]
    assert await login_status(client, actor.user.email, NEW_PASSWORD) == 200


async def test_an_expired_token_is_refused(
    client: AsyncClient, db: AsyncSession, mailbox: Mailbox
) -> None:
    actor = await make_firm(db)
    await request_reset(client, actor.user.email)
    token = token_in(mailbox)
    await scope_to_firm(db, actor.firm.id)
    await db.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.user_id == actor.user.id)
        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    await db.commit()

    response = await client.post(
        "/v1/auth/password-reset/confirm", json={"token": token, "password": NEW_PASSWORD}
    )

    assert "expired" in assert_problem(response, 409)["detail"]
    assert await login_status(client, actor.user.email, PASSWORD) == 200


async def test_tokens_expire_thirty_minutes_after_issue(
    client: AsyncClient, db: AsyncSession, mailbox: Mailbox
) -> None:
    actor = await make_firm(db)
    before = datetime.now(UTC)
    await request_reset(client, actor.user.email)
    await scope_to_firm(db, actor.firm.id)
    expires_at = await db.scalar(
        select(PasswordResetToken.expires_at).where(PasswordResetToken.user_id == actor.user.id)
    )
    ttl = timedelta(minutes=30)
    assert expires_at is not None
    assert before + ttl <= expires_at <= datetime.now(UTC) + ttl


async def test_unknown_or_malformed_tokens_are_refused(client: AsyncClient) -> None:
    assert await confirm(client, "ffr_" + uuid.uuid4().hex) == 404
    response = await client.post("/v1/auth/password-reset/confirm", json={"token": ""})
    assert pointers(assert_problem(response, 422)) == {"/token", "/password"}


async def test_a_common_password_is_refused_and_the_token_stays_usable(
    client: AsyncClient, db: AsyncSession, mailbox: Mailbox
) -> None:
    actor = await make_firm(db)
    await request_reset(client, actor.user.email)
    token = token_in(mailbox)

    response = await client.post(
        "/v1/auth/password-reset/confirm", json={"token": token, "password": "Password1234"}
    )

    assert pointers(assert_problem(response, 422)) == {"/password"}
    assert await confirm(client, token) == 204


async def test_a_second_request_within_a_minute_sends_nothing_new(
    client: AsyncClient, db: AsyncSession, mailbox: Mailbox
) -> None:
    actor = await make_firm(db)
    await request_reset(client, actor.user.email)
    await request_reset(client, actor.user.email)
    assert len(mailbox.messages) == 1


async def test_one_reset_spends_every_outstanding_token_of_the_user(
    client: AsyncClient, db: AsyncSession, mailbox: Mailbox
) -> None:
    actor: Actor = await make_firm(db)
    await request_reset(client, actor.user.email)
    first = token_in(mailbox)
    await scope_to_firm(db, actor.firm.id)
    # As if the first request were older than the resend interval.
    await db.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.user_id == actor.user.id)
        .values(created_at=datetime.now(UTC) - timedelta(minutes=5))
    )
    await db.commit()
    await request_reset(client, actor.user.email)
    second = token_in(mailbox, 1)
    assert first != second

    assert await confirm(client, second) == 204
    assert await confirm(client, first, "another fine passphrase 11") == 409
