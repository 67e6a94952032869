"""A credential that stops being valid stops working on the very next request, although the
API keeps where each token lives (services.auth): revoking a token, signing out, deactivating
a user, an expiry and a role change all count at once, in this process and in another one
serving the same database."""

import os
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import event, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from core.config import Settings
from core.db import scope_to_firm
from core.roles import Role
from core.security import hash_token
from models import ApiToken, User
from services import auth
from tests.factories import PASSWORD, Actor, add_user, make_firm
from tests.launched import Watched, unused_port
from tests.problems import assert_problem, bearer

AUDIT = "/v1/audit-events"  # admins and owners only: shows which role a request acts as


async def token_id(client: AsyncClient, actor: Actor) -> str:
    response = await client.get("/v1/api-tokens", headers=actor.headers)
    assert response.status_code == 200, response.text
    [token] = response.json()["items"]
    token_id: str = token["id"]
    return token_id


async def set_role(client: AsyncClient, owner: Actor, user: Actor, role: Role) -> None:
    response = await client.patch(
        f"/v1/users/{user.user.id}", json={"role": role.value}, headers=owner.headers
    )
    assert response.status_code == 200, response.text


async def test_a_revoked_api_token_is_refused_on_the_next_request(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    assert (await client.get("/v1/me", headers=owner.headers)).status_code == 200
    revoked = await client.delete(
        f"/v1/api-tokens/{await token_id(client, owner)}", headers=owner.headers
    )
    assert revoked.status_code == 204, revoked.text
    assert_problem(await client.get("/v1/me", headers=owner.headers), 401)


async def test_signing_out_ends_the_session_for_the_next_request(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    signed_in = await client.post(
        "/v1/auth/login", json={"email": owner.user.email, "password": PASSWORD}
    )
    session = bearer(signed_in.json()["token"])
    assert (await client.get("/v1/me", headers=session)).status_code == 200
    assert (await client.post("/v1/auth/logout", headers=session)).status_code == 204
    assert_problem(await client.get("/v1/me", headers=session), 401)
    # The API token of the same user is not a login session and still works.
    assert (await client.get("/v1/me", headers=owner.headers)).status_code == 200


async def test_a_deactivated_user_is_refused_on_the_next_request(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    staff = await add_user(db, owner, Role.staff)
    assert (await client.get("/v1/me", headers=staff.headers)).status_code == 200
    deactivated = await client.patch(
        f"/v1/users/{staff.user.id}", json={"is_active": False}, headers=owner.headers
    )
    assert deactivated.status_code == 200, deactivated.text
    assert_problem(await client.get("/v1/me", headers=staff.headers), 401)


async def test_an_inactive_user_is_refused_even_with_credentials_left_unrevoked(
    client: AsyncClient, db: AsyncSession
) -> None:
    """Deactivation revokes the credentials too; the user's own flag is read on every
    request as well, whatever wrote it."""
    owner = await make_firm(db)
    staff = await add_user(db, owner, Role.staff)
    assert (await client.get("/v1/me", headers=staff.headers)).status_code == 200
    await db.execute(update(User).where(User.id == staff.user.id).values(is_active=False))
    await db.commit()
    assert_problem(await client.get("/v1/me", headers=staff.headers), 401)


async def test_a_role_change_counts_from_the_next_request(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    staff = await add_user(db, owner, Role.staff)
    assert_problem(await client.get(AUDIT, headers=staff.headers), 403)
    await set_role(client, owner, staff, Role.admin)
    assert (await client.get(AUDIT, headers=staff.headers)).status_code == 200
    await set_role(client, owner, staff, Role.staff)
    assert_problem(await client.get(AUDIT, headers=staff.headers), 403)


async def test_a_token_that_expires_is_refused_from_then_on(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    assert (await client.get("/v1/me", headers=owner.headers)).status_code == 200
    await scope_to_firm(db, owner.firm.id)
    await db.execute(
        update(ApiToken)
        .where(ApiToken.token_hash == hash_token(owner.token))
        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    await db.commit()
    assert_problem(await client.get("/v1/me", headers=owner.headers), 401)


async def test_a_refused_request_does_not_count_as_a_use(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    assert (await client.get("/v1/me", headers=owner.headers)).status_code == 200
    stale = datetime.now(UTC) - timedelta(hours=1)
    await scope_to_firm(db, owner.firm.id)
    await db.execute(
        update(ApiToken)
        .where(ApiToken.token_hash == hash_token(owner.token))
        .values(last_used_at=stale, revoked_at=datetime.now(UTC))
    )
    await db.commit()
    assert_problem(await client.get("/v1/me", headers=owner.headers), 401)
    await scope_to_firm(db, owner.firm.id)
    last_used = await db.scalar(
        select(ApiToken.last_used_at).where(ApiToken.token_hash == hash_token(owner.token))
    )
    assert last_used == stale


async def test_a_token_is_looked_up_across_firms_once_and_kept_by_its_hash(
    client: AsyncClient, db: AsyncSession, connection: AsyncConnection
) -> None:
    owner = await make_firm(db)
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    event.listen(connection.sync_connection, "before_cursor_execute", record)
    try:
        for _ in range(3):
            assert (await client.get("/v1/me", headers=owner.headers)).status_code == 200
    finally:
        event.remove(connection.sync_connection, "before_cursor_execute", record)
    switches = [sql for sql in statements if sql.startswith("SET LOCAL ROLE")]
    assert len(switches) == 1, statements
    assert hash_token(owner.token) in auth._LOCATIONS
    assert owner.token not in auth._LOCATIONS


async def test_an_unknown_token_is_refused_and_not_kept(client: AsyncClient) -> None:
    unknown = "ffp_" + "x" * 43
    assert_problem(await client.get("/v1/me", headers=bearer(unknown)), 401)
    assert hash_token(unknown) not in auth._LOCATIONS


# Another process serving the same database: what this process changes counts there at once.


@pytest.fixture(scope="module")
def other_api(settings: Settings) -> Iterator[str]:
    port = unused_port()
    env = {**os.environ, "FIRMFLOW_DATABASE_URL": settings.runtime_url}
    env.pop("FIRMFLOW_TEMPORAL_ADDRESS", None)
    argv = [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory"]
    server = Watched([*argv, "--host", "127.0.0.1", "--port", str(port)], env)
    try:
        server.wait_for(lambda line: "Application startup complete" in line, "the API", 120)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.kill()


@pytest.fixture
async def here(
    settings: Settings, committing_sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[AsyncClient]:
    """This process's API, committing what it changes."""
    from api.app import create_app

    app = create_app(settings, sessionmaker=committing_sessionmaker)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://here") as http:
        yield http


@pytest.fixture
async def there(other_api: str) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(base_url=other_api, timeout=30) as http:
        yield http


async def test_a_revocation_here_is_honoured_there_at_once(
    here: AsyncClient, there: AsyncClient, committed_owner: Actor
) -> None:
    assert (await there.get("/v1/me", headers=committed_owner.headers)).status_code == 200
    revoked = await here.delete(
        f"/v1/api-tokens/{await token_id(here, committed_owner)}", headers=committed_owner.headers
    )
    assert revoked.status_code == 204, revoked.text
    assert_problem(await there.get("/v1/me", headers=committed_owner.headers), 401)


async def test_a_role_change_here_counts_there_at_once(
    here: AsyncClient,
    there: AsyncClient,
    committed_owner: Actor,
    committing_sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async with committing_sessionmaker() as session:
        staff = await add_user(session, committed_owner, Role.staff)
    assert_problem(await there.get(AUDIT, headers=staff.headers), 403)
    await set_role(here, committed_owner, staff, Role.admin)
    assert (await there.get(AUDIT, headers=staff.headers)).status_code == 200
    await set_role(here, committed_owner, staff, Role.staff)
    assert_problem(await there.get(AUDIT, headers=staff.headers), 403)
    deactivated = await here.patch(
        f"/v1/users/{staff.user.id}", json={"is_active": False}, headers=committed_owner.headers
    )
    assert deactivated.status_code == 200, deactivated.text
    assert_problem(await there.get("/v1/me", headers=staff.headers), 401)
