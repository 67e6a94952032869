"""The caller's own sessions and API tokens: listed together, revoked one by one or all
but the current one."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import scope_to_firm
from core.roles import Role
from models import AuditEvent, User
from services.tokens import issue_api_token, issue_login_session
from tests.factories import Actor, add_user, make_firm
from tests.problems import assert_problem, bearer

PATH = "/v1/me/sessions"


async def sign_in(db: AsyncSession, actor: Actor, *, hours: float = 1) -> tuple[uuid.UUID, str]:
    """A login session of ``actor``'s user (what login issues), committed."""
    await scope_to_firm(db, actor.firm.id)
    expires_at = datetime.now(UTC) + timedelta(hours=hours)
    login_session, token = await issue_login_session(db, actor.user, expires_at=expires_at)
    await db.commit()
    return login_session.id, token


async def listed(client: AsyncClient, token: str, **params: Any) -> dict[str, Any]:
    response = await client.get(PATH, params=params, headers=bearer(token))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def audit_events(db: AsyncSession, actor: Actor, action: str) -> list[AuditEvent]:
    await scope_to_firm(db, actor.firm.id)
    rows = await db.scalars(
        select(AuditEvent).where(AuditEvent.firm_id == actor.firm.id, AuditEvent.action == action)
    )
    return list(rows.all())


async def test_lists_my_usable_sessions_and_tokens_and_marks_the_current_one(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    colleague = await add_user(db, owner, Role.staff)
    current_id, current = await sign_in(db, owner)
    other_id, _ = await sign_in(db, owner)
    expired_id, _ = await sign_in(db, owner, hours=-1)
    revoked_id, _ = await sign_in(db, owner)
    await client.delete(f"{PATH}/{revoked_id}", headers=bearer(current))
    named, _ = await issue_api_token(db, owner.user, "Nightly export")
    await db.commit()
    await sign_in(db, colleague)

    body = await listed(client, current)

    items = {item["id"]: item for item in body["items"]}
    # make_firm's own API token, the named one, and the two usable sessions; nothing of
    # the colleague, nothing expired or revoked.
    assert len(items) == 4
    assert {str(current_id), str(other_id), str(named.id)} <= set(items)
    assert str(expired_id) not in items and str(revoked_id) not in items
    assert items[str(current_id)]["current"] is True
    assert [i["id"] for i in body["items"] if i["current"]] == [str(current_id)]
    assert items[str(current_id)]["kind"] == "session"
    assert items[str(current_id)]["name"] is None
    assert current.startswith(items[str(current_id)]["prefix"])
    assert items[str(named.id)] | {"last_used_at": None} == {
        "id": str(named.id),
        "kind": "api_token",
        "prefix": named.prefix,
        "name": "Nightly export",
        "created_at": named.created_at.isoformat().replace("+00:00", "Z"),
        "expires_at": None,
        "last_used_at": None,
        "current": False,
    }
    assert current not in str(body)
    created = [item["created_at"] for item in body["items"]]
    assert created == sorted(created, reverse=True)


async def test_pages_run_across_sessions_and_tokens_without_repeats(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    _, current = await sign_in(db, owner)
    for n in range(3):
        await issue_api_token(db, owner.user, f"token {n}")
        await sign_in(db, owner)
    await db.commit()
    everything = [item["id"] for item in (await listed(client, current))["items"]]
    assert len(everything) == 8

    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = await listed(client, current, **params)
        assert len(page["items"]) <= 3
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == everything
    bad = await client.get(PATH, params={"cursor": "nope"}, headers=bearer(current))
    assert_problem(bad, 400)


async def test_revoking_a_session_ends_it_and_is_audited_once(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    _, current = await sign_in(db, owner)
    laptop_id, laptop = await sign_in(db, owner)
    assert (await client.get("/v1/me", headers=bearer(laptop))).status_code == 200

    first = await client.delete(f"{PATH}/{laptop_id}", headers=bearer(current))
    again = await client.delete(f"{PATH}/{laptop_id}", headers=bearer(current))

    assert first.status_code == 204 and again.status_code == 204
    assert_problem(await client.get("/v1/me", headers=bearer(laptop)), 401)
    assert (await client.get("/v1/me", headers=bearer(current))).status_code == 200
    [event] = await audit_events(db, owner, "login_session.revoked")
    assert event.record_id == laptop_id and event.actor_id == owner.user.id
    assert event.record_type == "login_session"


async def test_revoking_an_api_token_and_the_current_session(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    current_id, current = await sign_in(db, owner)
    api_token, secret = await issue_api_token(db, owner.user, "CI")
    await db.commit()

    response = await client.delete(f"{PATH}/{api_token.id}", headers=bearer(current))

    assert response.status_code == 204
    assert_problem(await client.get("/v1/me", headers=bearer(secret)), 401)
    [event] = await audit_events(db, owner, "api_token.revoked")
    assert event.record_id == api_token.id
    # Revoking the session in use signs this client out.
    assert (await client.delete(f"{PATH}/{current_id}", headers=bearer(current))).status_code == 204
    assert_problem(await client.get("/v1/me", headers=bearer(current)), 401)


async def test_someone_elses_session_or_token_is_404_and_stays_valid(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    colleague = await add_user(db, owner, Role.staff)
    colleague_session_id, colleague_session = await sign_in(db, colleague)
    colleague_token, colleague_secret = await issue_api_token(db, colleague.user, "theirs")
    await db.commit()

    # Even an owner reaches only their own credentials here (admins use /v1/api-tokens).
    for foreign in (colleague_session_id, colleague_token.id, uuid.uuid4()):
        response = await client.delete(f"{PATH}/{foreign}", headers=owner.headers)
        assert_problem(response, 404)

    assert (await client.get("/v1/me", headers=bearer(colleague_session))).status_code == 200
    assert (await client.get("/v1/me", headers=bearer(colleague_secret))).status_code == 200
    assert await audit_events(db, owner, "login_session.revoked") == []
    malformed = await client.delete(f"{PATH}/not-a-uuid", headers=owner.headers)
    assert_problem(malformed, 422)


async def test_revoke_all_keeps_only_the_current_credential(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    colleague = await add_user(db, owner, Role.admin)
    _, colleague_session = await sign_in(db, colleague)
    current_id, current = await sign_in(db, owner)
    others = [await sign_in(db, owner) for _ in range(2)]
    _, secret = await issue_api_token(db, owner.user, "CI")
    await db.commit()

    response = await client.post(f"{PATH}/revoke-all", headers=bearer(current))

    assert response.status_code == 200, response.text
    # Two other sessions; make_firm's token and "CI".
    assert response.json() == {"sessions": 2, "api_tokens": 2}
    for _, token in others:
        assert_problem(await client.get("/v1/me", headers=bearer(token)), 401)
    for token in (secret, owner.token):
        assert_problem(await client.get("/v1/me", headers=bearer(token)), 401)
    assert (await client.get("/v1/me", headers=bearer(current))).status_code == 200
    assert (await client.get("/v1/me", headers=bearer(colleague_session))).status_code == 200
    assert [i["id"] for i in (await listed(client, current))["items"]] == [str(current_id)]
    [event] = await audit_events(db, owner, "user.credentials_revoked")
    assert event.record_id == owner.user.id
    assert event.summary == {"after": {"sessions": 2, "api_tokens": 2, "kept": str(current_id)}}

    nothing_left = await client.post(f"{PATH}/revoke-all", headers=bearer(current))
    assert nothing_left.json() == {"sessions": 0, "api_tokens": 0}
    assert len(await audit_events(db, owner, "user.credentials_revoked")) == 1


async def test_revoke_all_from_an_api_token_keeps_that_token(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    _, browser = await sign_in(db, owner)

    response = await client.post(f"{PATH}/revoke-all", headers=owner.headers)

    assert response.json() == {"sessions": 1, "api_tokens": 0}
    assert_problem(await client.get("/v1/me", headers=bearer(browser)), 401)
    assert (await client.get("/v1/me", headers=owner.headers)).status_code == 200


async def test_every_role_manages_its_own_sessions_and_anonymous_cannot(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    for role in Role:
        actor = owner if role == Role.owner else await add_user(db, owner, role)
        body = await listed(client, actor.token)
        assert [item["current"] for item in body["items"]] == [True], role
    for method, path in (
        ("GET", PATH),
        ("DELETE", f"{PATH}/{uuid.uuid4()}"),
        ("POST", f"{PATH}/revoke-all"),
    ):
        assert_problem(await client.request(method, path), 401)


async def test_a_deactivated_users_revoke_all_is_refused(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    staff = await add_user(db, owner, Role.staff)
    _, token = await sign_in(db, staff)
    await scope_to_firm(db, owner.firm.id)
    user = await db.get(User, staff.user.id)
    assert user is not None
    user.is_active = False
    await db.commit()

    assert_problem(await client.post(f"{PATH}/revoke-all", headers=bearer(token)), 401)
