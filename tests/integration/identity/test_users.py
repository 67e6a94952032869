"""Users: invitations, roles, deactivation and the last-owner rule, through the HTTP API."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient, Response
from sqlalchemy import delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.config import Settings
from core.db import scope_to_firm, tenant_session
from core.errors import Conflict
from core.principal import Principal
from core.roles import Role
from core.security import hash_token
from models import ApiToken, AuditEvent, Firm, Invitation, LoginSession, User
from services import users
from tests.factories import PASSWORD, Actor, add_user, make_firm
from tests.invitations import PUBLIC_URL, client_mailing_to, invitation_token
from tests.mailbox import Mailbox, free_port, text_of
from tests.problems import assert_problem, bearer

NEW_PASSWORD = "a brand new password"


@pytest.fixture
async def client(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], mailbox: Mailbox
) -> AsyncIterator[AsyncClient]:
    """The app mailing the test's mailbox: invitations arrive there, never in a response."""
    async with client_mailing_to(mailbox, settings, sessionmaker) as http:
        yield http


async def invite(
    client: AsyncClient, actor: Actor, role: str = "staff", email: str | None = None
) -> dict[str, Any]:
    email = email or f"invitee-{uuid.uuid4().hex[:8]}@example.com"
    response = await client.post(
        "/v1/users",
        json={"email": email, "name": "Ivy Invitee", "role": role},
        headers=actor.headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def token_of(mailbox: Mailbox, invited: dict[str, Any]) -> str:
    return invitation_token(mailbox, invited["user"]["email"])


async def accept(client: AsyncClient, token: str, password: str = NEW_PASSWORD) -> Response:
    return await client.post(
        "/v1/auth/accept-invitation", json={"token": token, "password": password}
    )


async def patch_user(
    client: AsyncClient, actor: Actor, user_id: uuid.UUID | str, **fields: Any
) -> Response:
    return await client.patch(f"/v1/users/{user_id}", json=fields, headers=actor.headers)


async def audit_of(db: AsyncSession, firm_id: uuid.UUID, record_id: uuid.UUID) -> list[AuditEvent]:
    await scope_to_firm(db, firm_id)
    rows = await db.scalars(
        select(AuditEvent)
        .where(AuditEvent.firm_id == firm_id, AuditEvent.record_id == record_id)
        .order_by(AuditEvent.created_at, AuditEvent.id)
    )
    return list(rows.all())


# Listing and reading


async def test_members_list_users_page_by_page(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    staff = await add_user(db, owner, Role.staff)
    builder = await add_user(db, owner, Role.builder)
    await make_firm(db, "Someone Else")

    seen: list[str] = []
    cursor: str | None = None
    for _ in range(3):
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        response = await client.get("/v1/users", params=params, headers=staff.headers)
        assert response.status_code == 200, response.text
        page = response.json()
        seen += [user["id"] for user in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(str(a.user.id) for a in (owner, staff, builder))
    assert len(seen) == 3


async def test_clients_cannot_list_users(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    portal = await add_user(db, owner, Role.client)
    assert_problem(await client.get("/v1/users", headers=portal.headers), 403)
    assert_problem(await client.get(f"/v1/users/{owner.user.id}", headers=portal.headers), 403)


async def test_list_rejects_bad_paging(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    for params in ({"limit": 0}, {"limit": 101}, {"cursor": "not-a-cursor"}):
        response = await client.get("/v1/users", params=params, headers=owner.headers)
        assert response.status_code in (400, 422), response.text
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_get_user_of_another_firm_is_404(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    other = await make_firm(db, "Other")

    found = await client.get(f"/v1/users/{owner.user.id}", headers=owner.headers)
    assert found.status_code == 200
    assert found.json()["email"] == owner.user.email
    assert_problem(await client.get(f"/v1/users/{other.user.id}", headers=owner.headers), 404)
    assert_problem(await client.get(f"/v1/users/{uuid.uuid4()}", headers=owner.headers), 404)
    assert_problem(await patch_user(client, owner, other.user.id, name="x"), 404)
    assert_problem(
        await client.post(f"/v1/users/{other.user.id}/invitation", headers=owner.headers), 404
    )


async def test_malformed_user_id_is_422_naming_the_parameter(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    problem = assert_problem(await client.get("/v1/users/not-a-uuid", headers=owner.headers), 422)
    assert problem["errors"][0]["parameter"] == "user_id"


# Invitations


async def test_invite_emails_the_link_then_accept_activates_and_signs_in(
    client: AsyncClient, db: AsyncSession, mailbox: Mailbox
) -> None:
    admin = await add_user(db, await make_firm(db), Role.admin)

    invited = await invite(client, admin, role="builder", email="New.Person@Example.com")

    user = invited["user"]
    assert user["email"] == "new.person@example.com"
    assert user["role"] == "builder"
    assert user["is_active"] is False
    assert user["password_set"] is False
    assert set(invited) == {"user", "expires_at"}
    assert mailbox.recipients == [["new.person@example.com"]]
    [email] = mailbox.messages
    assert admin.firm.name in email["Subject"]
    assert "7 days" in text_of(email) and "builder" in text_of(email)
    token = token_of(mailbox, invited)
    assert token.startswith("ffi_")
    assert str(email["Message-ID"]).strip().startswith("<invitation-")
    expires_at = datetime.fromisoformat(invited["expires_at"])
    assert timedelta(days=6) < expires_at - datetime.now(UTC) <= timedelta(days=7)
    await scope_to_firm(db, admin.firm.id)
    stored = await db.scalar(select(Invitation).where(Invitation.user_id == uuid.UUID(user["id"])))
    assert stored is not None and stored.token_hash == hash_token(token)
    # The invitation is not a bearer credential.
    assert_problem(await client.get("/v1/me", headers=bearer(token)), 401)

    accepted = await accept(client, token)

    assert accepted.status_code == 200, accepted.text
    session = accepted.json()
    assert session["user"]["id"] == user["id"]
    assert session["user"]["is_active"] is True
    assert session["user"]["password_set"] is True
    assert session["firm"]["id"] == str(admin.firm.id)
    me = await client.get("/v1/me", headers=bearer(session["token"]))
    assert me.status_code == 200 and me.json()["user"]["role"] == "builder"
    login = await client.post(
        "/v1/auth/login", json={"email": "new.person@example.com", "password": NEW_PASSWORD}
    )
    assert login.status_code == 200, login.text
    actions = [e.action for e in await audit_of(db, admin.firm.id, uuid.UUID(user["id"]))]
    assert actions == ["user.invited", "user.invitation_accepted"]
    summaries = str([e.summary for e in await audit_of(db, admin.firm.id, uuid.UUID(user["id"]))])
    assert token not in summaries and NEW_PASSWORD not in summaries


async def test_reused_invitation_is_409(
    client: AsyncClient, db: AsyncSession, mailbox: Mailbox
) -> None:
    owner = await make_firm(db)
    token = token_of(mailbox, await invite(client, owner))
    assert (await accept(client, token)).status_code == 200

    problem = assert_problem(await accept(client, token, "a different password"), 409)

    assert "already been used" in problem["detail"]


async def test_expired_invitation_is_409(
    client: AsyncClient, db: AsyncSession, mailbox: Mailbox
) -> None:
    owner = await make_firm(db)
    invited = await invite(client, owner)
    token = token_of(mailbox, invited)
    await scope_to_firm(db, owner.firm.id)
    await db.execute(
        update(Invitation)
        .where(Invitation.token_hash == hash_token(token))
        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    await db.commit()

    problem = assert_problem(await accept(client, token), 409)

    assert "expired" in problem["detail"]
    user = await client.get(f"/v1/users/{invited['user']['id']}", headers=owner.headers)
    assert user.json()["is_active"] is False


async def test_unknown_invitation_is_404(client: AsyncClient) -> None:
    problem = assert_problem(await accept(client, "ffi_" + "x" * 43), 404)
    assert "not valid" in problem["detail"]


async def test_accept_invitation_enforces_the_password_policy(
    client: AsyncClient, db: AsyncSession, mailbox: Mailbox
) -> None:
    owner = await make_firm(db)
    token = token_of(mailbox, await invite(client, owner))
    for password in ("x" * 11, "x" * 1025):
        problem = assert_problem(await accept(client, token, password), 422)
        assert [e["pointer"] for e in problem["errors"]] == ["/password"]
    # Twelve characters is enough, unless they are a listed common password (as "x" * 12 is).
    assert (await accept(client, token, "xz" * 6)).status_code == 200


async def test_reissued_invitation_emails_a_link_that_replaces_the_old_one(
    client: AsyncClient, db: AsyncSession, mailbox: Mailbox
) -> None:
    owner = await make_firm(db)
    first = await invite(client, owner)
    first_token = token_of(mailbox, first)

    response = await client.post(
        f"/v1/users/{first['user']['id']}/invitation", headers=owner.headers
    )

    assert response.status_code == 201, response.text
    assert set(response.json()) == {"user", "expires_at"}
    assert len(mailbox.to(first["user"]["email"])) == 2
    second = token_of(mailbox, first)
    assert second != first_token
    assert "withdrawn" in assert_problem(await accept(client, first_token), 409)["detail"]
    assert (await accept(client, second)).status_code == 200
    again = await client.post(f"/v1/users/{first['user']['id']}/invitation", headers=owner.headers)
    assert "already accepted" in assert_problem(again, 409)["detail"]


async def test_deactivating_an_invited_user_withdraws_the_invitation(
    client: AsyncClient, db: AsyncSession, mailbox: Mailbox
) -> None:
    owner = await make_firm(db)
    invited = await invite(client, owner)

    assert (
        await patch_user(client, owner, invited["user"]["id"], is_active=False)
    ).status_code == 200

    withdrawn = assert_problem(await accept(client, token_of(mailbox, invited)), 409)
    assert "withdrawn" in withdrawn["detail"]
    events = await audit_of(db, owner.firm.id, uuid.UUID(invited["user"]["id"]))
    assert [e.action for e in events] == ["user.invited", "user.invitation_withdrawn"]
    reactivate = await patch_user(client, owner, invited["user"]["id"], is_active=True)
    assert "not accepted their invitation" in assert_problem(reactivate, 409)["detail"]


async def test_a_failed_invitation_email_still_invites_and_logs_no_token(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    db: AsyncSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Nothing listens where the app sends mail: the invitation stands (the admin sends it
    again later), and the log names the message, never its token."""
    owner = await make_firm(db)
    unreachable = settings.model_copy(
        update={"email_backend": "smtp", "smtp_port": free_port(), "public_url": PUBLIC_URL}
    )
    from api.app import create_app

    app = create_app(unreachable, sessionmaker=sessionmaker)
    async with AsyncClient(
        transport=ASGITransport(app=app, raise_app_exceptions=False), base_url="http://test"
    ) as http:
        invited = await invite(http, owner)

    assert invited["user"]["is_active"] is False
    failures = [r for r in caplog.records if r.getMessage() == "invitation email failed"]
    assert len(failures) == 1
    assert failures[0].message_id.startswith("invitation-")  # type: ignore[attr-defined]
    assert "ffi_" not in caplog.text


async def test_invite_duplicate_email_is_409(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    problem = assert_problem(
        await client.post(
            "/v1/users",
            json={"email": owner.user.email.upper(), "role": "staff"},
            headers=owner.headers,
        ),
        409,
    )
    assert owner.user.email in problem["detail"]
    # The same address in another firm is a different person's account: allowed.
    other = await make_firm(db, "Other")
    assert (await invite(client, other, email=owner.user.email))["user"][
        "email"
    ] == owner.user.email


@pytest.mark.parametrize("role", [Role.staff, Role.builder, Role.client])
async def test_non_admins_cannot_manage_users(
    client: AsyncClient, db: AsyncSession, role: Role
) -> None:
    owner = await make_firm(db)
    member = await add_user(db, owner, role)
    colleague = await add_user(db, owner, Role.staff)

    body = {"email": "x@example.com", "role": "staff"}
    assert_problem(await client.post("/v1/users", json=body, headers=member.headers), 403)
    assert_problem(await patch_user(client, member, colleague.user.id, is_active=False), 403)
    assert_problem(
        await client.post(f"/v1/users/{colleague.user.id}/invitation", headers=member.headers), 403
    )
    assert (await client.get("/v1/me", headers=colleague.headers)).status_code == 200


async def test_only_an_owner_can_invite_an_owner(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    admin = await add_user(db, owner, Role.admin)
    body = {"email": "boss@example.com", "role": "owner"}

    problem = assert_problem(await client.post("/v1/users", json=body, headers=admin.headers), 403)

    assert "owner" in problem["detail"]
    assert (await invite(client, owner, role="owner"))["user"]["role"] == "owner"


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"email": "x@example.com", "role": "emperor"}, "/role"),
        ({"email": "nope", "role": "staff"}, "/email"),
        ({"role": "staff"}, "/email"),
        ({"email": "x@example.com", "role": "staff", "password": "sneaky-password"}, "/password"),
        ({"email": "x@example.com", "role": "staff", "name": "n" * 201}, "/name"),
    ],
)
async def test_invite_validation_errors(
    client: AsyncClient, db: AsyncSession, body: dict[str, Any], pointer: str
) -> None:
    owner = await make_firm(db)
    problem = assert_problem(await client.post("/v1/users", json=body, headers=owner.headers), 422)
    assert [e["pointer"] for e in problem["errors"]] == [pointer]


# Roles and the last owner


async def test_admin_changes_roles_and_names(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    admin = await add_user(db, owner, Role.admin)
    staff = await add_user(db, owner, Role.staff)

    response = await patch_user(client, admin, staff.user.id, role="builder", name="Bob Builder")

    assert response.status_code == 200, response.text
    assert response.json()["role"] == "builder"
    assert response.json()["name"] == "Bob Builder"
    me = await client.get("/v1/me", headers=staff.headers)
    assert me.json()["user"]["role"] == "builder"
    [event] = await audit_of(db, owner.firm.id, staff.user.id)
    assert event.action == "user.role_changed"
    assert event.summary == {
        "before": {"role": "staff", "name": ""},
        "after": {"role": "builder", "name": "Bob Builder"},
    }


async def test_patch_without_changes_records_nothing(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    staff = await add_user(db, owner, Role.staff)
    response = await patch_user(client, owner, staff.user.id, role="staff")
    assert response.status_code == 200
    assert await audit_of(db, owner.firm.id, staff.user.id) == []


async def test_patch_validation_errors(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    staff = await add_user(db, owner, Role.staff)
    for body, pointer in (
        ({"role": "god"}, "/role"),
        ({"is_active": "maybe"}, "/is_active"),
        ({"email": "new@example.com"}, "/email"),
    ):
        problem = assert_problem(await patch_user(client, owner, staff.user.id, **body), 422)
        assert [e["pointer"] for e in problem["errors"]] == [pointer]


async def test_admin_cannot_promote_to_owner_or_touch_an_owner(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    second_owner = await add_user(db, owner, Role.owner)
    admin = await add_user(db, owner, Role.admin)
    staff = await add_user(db, owner, Role.staff)

    assert_problem(await patch_user(client, admin, staff.user.id, role="owner"), 403)
    assert_problem(await patch_user(client, admin, admin.user.id, role="owner"), 403)
    assert_problem(await patch_user(client, admin, second_owner.user.id, role="staff"), 403)
    assert_problem(await patch_user(client, admin, second_owner.user.id, is_active=False), 403)

    promoted = await patch_user(client, owner, staff.user.id, role="owner")
    assert promoted.status_code == 200 and promoted.json()["role"] == "owner"


async def test_last_owner_cannot_be_demoted_or_deactivated(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)

    demote = assert_problem(await patch_user(client, owner, owner.user.id, role="admin"), 409)
    deactivate = assert_problem(
        await patch_user(client, owner, owner.user.id, is_active=False), 409
    )

    assert "last active owner" in demote["detail"]
    assert "last active owner" in deactivate["detail"]
    me = await client.get("/v1/me", headers=owner.headers)
    assert me.json()["user"]["role"] == "owner"


async def test_an_owner_can_step_down_once_another_owner_exists(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    other = await add_user(db, owner, Role.owner)

    assert (await patch_user(client, owner, owner.user.id, role="admin")).status_code == 200

    problem = assert_problem(await patch_user(client, other, other.user.id, is_active=False), 409)
    assert "last active owner" in problem["detail"]


async def test_a_deactivated_owner_does_not_count_as_a_spare(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    other = await add_user(db, owner, Role.owner)
    assert (await patch_user(client, owner, other.user.id, is_active=False)).status_code == 200

    assert_problem(await patch_user(client, owner, owner.user.id, role="staff"), 409)


# Deactivation


async def test_deactivated_user_is_locked_out_everywhere(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    staff = await add_user(db, owner, Role.staff)
    login = await client.post(
        "/v1/auth/login", json={"email": staff.user.email, "password": PASSWORD}
    )
    session_token = login.json()["token"]
    assert (await client.get("/v1/me", headers=bearer(session_token))).status_code == 200

    response = await patch_user(client, owner, staff.user.id, is_active=False)

    assert response.status_code == 200, response.text
    assert response.json()["is_active"] is False
    assert_problem(await client.get("/v1/me", headers=staff.headers), 401)
    assert_problem(await client.get("/v1/me", headers=bearer(session_token)), 401)
    await scope_to_firm(db, owner.firm.id)
    for model in (ApiToken, LoginSession):
        revoked = await db.scalars(select(model.revoked_at).where(model.user_id == staff.user.id))
        assert all(at is not None for at in revoked.all())
    [event] = await audit_of(db, owner.firm.id, staff.user.id)
    assert event.action == "user.deactivated"
    assert event.summary == {"before": {"is_active": True}, "after": {"is_active": False}}

    # Reactivation restores the password login, never the revoked credentials.
    assert (await patch_user(client, owner, staff.user.id, is_active=True)).status_code == 200
    assert_problem(await client.get("/v1/me", headers=staff.headers), 401)
    relogin = await client.post(
        "/v1/auth/login", json={"email": staff.user.email, "password": PASSWORD}
    )
    assert relogin.status_code == 200, relogin.text
    events = [e.action for e in await audit_of(db, owner.firm.id, staff.user.id)]
    assert events == ["user.deactivated", "user.reactivated"]


async def test_admin_deactivation_keeps_other_users_signed_in(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    staff = await add_user(db, owner, Role.staff)
    colleague = await add_user(db, owner, Role.staff)

    assert (await patch_user(client, owner, staff.user.id, is_active=False)).status_code == 200

    assert (await client.get("/v1/me", headers=colleague.headers)).status_code == 200
    await scope_to_firm(db, owner.firm.id)
    kept = await db.scalar(select(User.is_active).where(User.id == colleague.user.id))
    assert kept is True


@pytest.fixture
async def two_owners(
    committing_sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[tuple[Actor, Actor]]:
    """A firm with two owners whose data really commits (the race needs two transactions);
    deleted with everything it owns afterwards."""
    async with committing_sessionmaker() as session:
        first = await make_firm(session, "Race")
        second = await add_user(session, first, Role.owner)
    yield first, second
    async with tenant_session(first.firm.id, committing_sessionmaker) as session:
        await session.execute(delete(Firm).where(Firm.id == first.firm.id))


async def _wait_until_blocked(maker: async_sessionmaker[AsyncSession], pid: int) -> None:
    for _ in range(10_000):
        # A fresh transaction per look: pg_stat_activity is a per-transaction snapshot.
        async with maker() as watcher:
            state = await watcher.scalar(
                text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"),
                {"pid": pid},
            )
        if state == "Lock":
            return
    raise AssertionError("the second demotion never waited for the first one's lock")


async def test_concurrent_demotions_leave_one_owner(
    committing_sessionmaker: async_sessionmaker[AsyncSession], two_owners: tuple[Actor, Actor]
) -> None:
    """Each owner demotes themself at the same time; without the row lock both would see
    a spare owner and the firm would end up with none."""
    owner_a, owner_b = two_owners
    firm_id = owner_a.firm.id

    def principal(actor: Actor) -> Principal:
        return Principal(
            firm_id=firm_id, user_id=actor.user.id, role=Role.owner, credential="session"
        )

    async with committing_sessionmaker() as first, committing_sessionmaker() as second:
        await scope_to_firm(first, firm_id)
        await users.update_user(first, principal(owner_a), owner_a.user.id, role=Role.admin)
        await scope_to_firm(second, firm_id)
        pid = await second.scalar(text("SELECT pg_backend_pid()"))
        assert isinstance(pid, int)
        racing = asyncio.create_task(
            users.update_user(second, principal(owner_b), owner_b.user.id, role=Role.admin)
        )
        await _wait_until_blocked(committing_sessionmaker, pid)
        await first.commit()
        with pytest.raises(Conflict, match="last active owner"):
            await racing
        await second.rollback()

    async with tenant_session(firm_id, committing_sessionmaker) as session:
        roles = await session.scalars(select(User.role).where(User.firm_id == firm_id))
        assert sorted(roles.all()) == [Role.admin, Role.owner]
