"""Personal API tokens through the HTTP API: shown once, stored hashed, listed, revoked."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import scope_to_firm
from core.roles import Role
from core.security import hash_token
from models import ApiToken, AuditEvent
from services.tokens import issue_api_token
from tests.factories import Actor, add_user, make_firm
from tests.problems import assert_problem, bearer


async def create(
    client: AsyncClient, actor: Actor, name: str = "ci", **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        "/v1/api-tokens", json={"name": name, **extra}, headers=actor.headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def list_all(client: AsyncClient, actor: Actor, **params: Any) -> list[dict[str, Any]]:
    response = await client.get("/v1/api-tokens", params=params, headers=actor.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_token_is_shown_once_and_stored_only_as_its_hash(
    client: AsyncClient, db: AsyncSession
) -> None:
    actor = await make_firm(db)

    created = await create(client, actor, name="Deploy bot")

    secret = created["token"]
    assert secret.startswith("ffp_")
    assert secret.startswith(created["prefix"])
    assert created["user_id"] == str(actor.user.id)
    assert created["name"] == "Deploy bot"
    assert created["expires_at"] is None and created["revoked_at"] is None
    me = await client.get("/v1/me", headers=bearer(secret))
    assert me.status_code == 200 and me.json()["credential"] == "api_token"

    listed = await list_all(client, actor)
    assert [t["id"] for t in listed if t["id"] == created["id"]] == [created["id"]]
    assert all("token" not in t for t in listed)
    assert secret not in (await client.get("/v1/api-tokens", headers=actor.headers)).text
    one = await client.get(f"/v1/api-tokens/{created['id']}", headers=actor.headers)
    assert one.status_code == 200 and "token" not in one.json()
    assert secret not in one.text

    await scope_to_firm(db, actor.firm.id)
    stored = await db.scalar(select(ApiToken).where(ApiToken.id == uuid.UUID(created["id"])))
    assert stored is not None and stored.token_hash == hash_token(secret)
    row = await db.execute(
        text("SELECT * FROM api_tokens WHERE id = :id"), {"id": uuid.UUID(created["id"])}
    )
    assert all(secret not in str(value) for value in row.one())
    audit = await db.scalars(
        select(AuditEvent.summary).where(AuditEvent.record_id == uuid.UUID(created["id"]))
    )
    assert secret not in str(audit.all())


async def test_token_with_an_expiry(client: AsyncClient, db: AsyncSession) -> None:
    actor = await make_firm(db)
    expires_at = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)

    created = await create(client, actor, expires_at=expires_at.isoformat())

    assert datetime.fromisoformat(created["expires_at"]) == expires_at
    assert (await client.get("/v1/me", headers=bearer(created["token"]))).status_code == 200


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"name": ""}, "/name"),
        ({"name": "x" * 101}, "/name"),
        ({}, "/name"),
        ({"name": "ci", "expires_at": "2099-01-01T00:00:00"}, "/expires_at"),
        ({"name": "ci", "expires_at": "next tuesday"}, "/expires_at"),
        ({"name": "ci", "expires_at": "2001-01-01T00:00:00Z"}, "/expires_at"),
        ({"name": "ci", "user_id": str(uuid.uuid4())}, "/user_id"),
    ],
)
async def test_create_validation_errors(
    client: AsyncClient, db: AsyncSession, body: dict[str, Any], pointer: str
) -> None:
    actor = await make_firm(db)
    problem = assert_problem(
        await client.post("/v1/api-tokens", json=body, headers=actor.headers), 422
    )
    assert [e["pointer"] for e in problem["errors"]] == [pointer]


async def test_expired_token_is_401(client: AsyncClient, db: AsyncSession) -> None:
    actor = await make_firm(db)
    await scope_to_firm(db, actor.firm.id)
    _, secret = await issue_api_token(
        db, actor.user, "old", expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    await db.commit()

    problem = assert_problem(await client.get("/v1/me", headers=bearer(secret)), 401)

    assert problem["detail"] == "Invalid or expired credentials"


async def test_revoked_token_is_401_and_revoking_again_changes_nothing(
    client: AsyncClient, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    created = await create(client, actor)
    assert (await client.get("/v1/me", headers=bearer(created["token"]))).status_code == 200

    first = await client.delete(f"/v1/api-tokens/{created['id']}", headers=actor.headers)
    assert first.status_code == 204, first.text
    assert_problem(await client.get("/v1/me", headers=bearer(created["token"])), 401)
    again = await client.delete(f"/v1/api-tokens/{created['id']}", headers=actor.headers)
    assert again.status_code == 204

    shown = (await client.get(f"/v1/api-tokens/{created['id']}", headers=actor.headers)).json()
    assert shown["revoked_at"] is not None
    await scope_to_firm(db, actor.firm.id)
    actions = await db.scalars(
        select(AuditEvent.action).where(AuditEvent.record_id == uuid.UUID(created["id"]))
    )
    assert sorted(actions.all()) == ["api_token.created", "api_token.revoked"]


async def test_a_token_can_revoke_itself(client: AsyncClient, db: AsyncSession) -> None:
    actor = await make_firm(db)
    created = await create(client, actor)
    headers = bearer(created["token"])
    response = await client.delete(f"/v1/api-tokens/{created['id']}", headers=headers)
    assert response.status_code == 204
    assert_problem(await client.get("/v1/me", headers=headers), 401)


async def test_members_see_and_revoke_only_their_own_tokens(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    staff = await add_user(db, owner, Role.staff)
    colleague = await add_user(db, owner, Role.builder)
    theirs = await create(client, colleague, name="colleague's")
    mine = await create(client, staff, name="mine")

    listed = await list_all(client, staff)

    assert {t["user_id"] for t in listed} == {str(staff.user.id)}
    assert mine["id"] in {t["id"] for t in listed}
    path = f"/v1/api-tokens/{theirs['id']}"
    assert_problem(await client.get(path, headers=staff.headers), 404)
    assert_problem(await client.delete(path, headers=staff.headers), 404)
    assert (await client.get("/v1/me", headers=bearer(theirs["token"]))).status_code == 200
    problem = assert_problem(
        await client.get(
            "/v1/api-tokens", params={"user_id": str(colleague.user.id)}, headers=staff.headers
        ),
        403,
    )
    assert "your own" in problem["detail"]
    own = await list_all(client, staff, user_id=str(staff.user.id))
    assert {t["user_id"] for t in own} == {str(staff.user.id)}


async def test_admins_see_and_revoke_every_token_of_their_firm(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    admin = await add_user(db, owner, Role.admin)
    staff = await add_user(db, owner, Role.staff)
    stranger = await make_firm(db, "Stranger")
    theirs = await create(client, staff)

    listed = await list_all(client, admin)
    users = {t["user_id"] for t in listed}
    assert {str(owner.user.id), str(admin.user.id), str(staff.user.id)} <= users
    assert str(stranger.user.id) not in users
    only_staff = await list_all(client, admin, user_id=str(staff.user.id))
    assert {t["user_id"] for t in only_staff} == {str(staff.user.id)}

    response = await client.delete(f"/v1/api-tokens/{theirs['id']}", headers=admin.headers)

    assert response.status_code == 204
    assert_problem(await client.get("/v1/me", headers=bearer(theirs["token"])), 401)


async def test_another_firms_token_is_404(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    stranger = await make_firm(db, "Stranger")
    theirs = await create(client, stranger)

    path = f"/v1/api-tokens/{theirs['id']}"
    assert_problem(await client.get(path, headers=owner.headers), 404)
    assert_problem(await client.delete(path, headers=owner.headers), 404)
    assert (await client.get("/v1/me", headers=bearer(theirs["token"]))).status_code == 200
    assert await list_all(client, owner, user_id=str(stranger.user.id)) == []


async def test_list_pages_newest_first(client: AsyncClient, db: AsyncSession) -> None:
    actor = await make_firm(db)
    for n in range(4):
        await create(client, actor, name=f"token {n}")

    names: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        response = await client.get("/v1/api-tokens", params=params, headers=actor.headers)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= 2
        names += [t["name"] for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    # Created in one transaction they share created_at; the id breaks the tie.
    assert sorted(names) == sorted(["tests", "token 0", "token 1", "token 2", "token 3"])
    assert len(names) == 5


async def test_list_rejects_a_forged_cursor(client: AsyncClient, db: AsyncSession) -> None:
    actor = await make_firm(db)
    response = await client.get("/v1/api-tokens", params={"cursor": "%%%"}, headers=actor.headers)
    problem = assert_problem(response, 400)
    assert problem["errors"][0]["parameter"] == "cursor"


async def test_idempotency_key_never_creates_a_second_token(
    client: AsyncClient, db: AsyncSession
) -> None:
    actor = await make_firm(db)
    headers = actor.headers | {"Idempotency-Key": "create-ci-token"}
    first = await client.post("/v1/api-tokens", json={"name": "ci"}, headers=headers)
    assert first.status_code == 201, first.text

    repeat = await client.post("/v1/api-tokens", json={"name": "ci"}, headers=headers)

    problem = assert_problem(repeat, 409)
    assert first.json()["id"] in problem["detail"]
    assert first.json()["token"] not in repeat.text
    assert [t["name"] for t in await list_all(client, actor)].count("ci") == 1
    other_body = await client.post("/v1/api-tokens", json={"name": "other"}, headers=headers)
    assert "different request" in assert_problem(other_body, 409)["detail"]
    await scope_to_firm(db, actor.firm.id)
    stored = await db.execute(text("SELECT response_body::text FROM idempotency_keys"))
    assert all(first.json()["token"] not in body for (body,) in stored.all())


async def test_tokens_require_authentication(client: AsyncClient) -> None:
    assert_problem(await client.get("/v1/api-tokens"), 401)
    assert_problem(await client.post("/v1/api-tokens", json={"name": "x"}), 401)
    assert_problem(await client.delete(f"/v1/api-tokens/{uuid.uuid4()}"), 401)
