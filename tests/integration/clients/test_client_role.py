"""Client-role users: people of one client of the firm. They belong to that client
(users.client_id), see only its record and its contacts, and nothing of the firm's
users, audit trail, imports or other people's tokens."""

import uuid
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.config import Settings
from core.db import scope_to_firm
from core.roles import Role
from core.security import hash_password
from models import User
from tests.factories import PASSWORD, Actor, add_user, make_firm, new_client
from tests.invitations import client_mailing_to, invitation_token
from tests.mailbox import Mailbox
from tests.problems import assert_problem, bearer, pointers


async def new_contact(client: AsyncClient, actor: Actor, client_id: str, name: str) -> str:
    response = await client.post(
        f"/v1/clients/{client_id}/contacts", json={"name": name}, headers=actor.headers
    )
    assert response.status_code == 201, response.text
    contact_id: str = response.json()["id"]
    return contact_id


async def portal_user(db: AsyncSession, owner: Actor, client_id: str) -> Actor:
    return await add_user(db, owner, Role.client, client_id=uuid.UUID(client_id))


async def test_sees_only_their_own_client_and_its_contacts(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    mine = await new_client(client, owner, "Mine Ltd", tags=["vip"])
    theirs = await new_client(client, owner, "Theirs Ltd", tags=["vip"])
    my_contact = await new_contact(client, owner, mine, "Ann Mine")
    their_contact = await new_contact(client, owner, theirs, "Tom Theirs")
    portal = await portal_user(db, owner, mine)

    for params in ({}, {"q": "ltd"}, {"tag": "vip"}, {"status": "prospect"}):
        listed = await client.get("/v1/clients", params=params, headers=portal.headers)
        assert [c["id"] for c in listed.json()["items"]] == [mine], params
    archived = await client.get("/v1/clients", params={"archived": True}, headers=portal.headers)
    assert archived.json()["items"] == []
    own = await client.get(f"/v1/clients/{mine}", headers=portal.headers)
    assert own.status_code == 200 and own.json()["name"] == "Mine Ltd"
    contacts = await client.get(f"/v1/clients/{mine}/contacts", headers=portal.headers)
    assert [c["id"] for c in contacts.json()["items"]] == [my_contact]
    one = await client.get(f"/v1/clients/{mine}/contacts/{my_contact}", headers=portal.headers)
    assert one.status_code == 200

    # The other client, its contacts, and its contact put under the user's own client's
    # path: all as if they did not exist.
    for path in (
        f"/v1/clients/{theirs}",
        f"/v1/clients/{theirs}/contacts",
        f"/v1/clients/{theirs}/contacts/{their_contact}",
        f"/v1/clients/{mine}/contacts/{their_contact}",
    ):
        assert_problem(await client.get(path, headers=portal.headers), 404)
    # Staff still see both.
    everyone = await client.get("/v1/clients", headers=owner.headers)
    assert {c["id"] for c in everyone.json()["items"]} == {mine, theirs}


async def test_sees_no_users_audit_imports_or_tokens_of_others(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    portal = await add_user(db, owner, Role.client)
    colleague = await add_user(db, owner, Role.client, client_id=portal.user.client_id)
    own_tokens = await client.get("/v1/api-tokens", headers=portal.headers)
    [own_token] = own_tokens.json()["items"]
    colleague_tokens = await client.get("/v1/api-tokens", headers=colleague.headers)
    [colleague_token] = colleague_tokens.json()["items"]

    for path in (
        "/v1/users",
        f"/v1/users/{owner.user.id}",
        f"/v1/users/{portal.user.id}",
        "/v1/audit-events",
        "/v1/clients/imports",
        f"/v1/clients/imports/{uuid.uuid4()}",
        f"/v1/api-tokens?user_id={colleague.user.id}",
    ):
        body = assert_problem(await client.get(path, headers=portal.headers), 403)
        assert body["title"] in {"Permission denied", "Forbidden"}, path
    assert own_token["user_id"] == str(portal.user.id)
    theirs = await client.get(f"/v1/api-tokens/{colleague_token['id']}", headers=portal.headers)
    assert_problem(theirs, 404)
    revoke = await client.delete(f"/v1/api-tokens/{colleague_token['id']}", headers=portal.headers)
    assert_problem(revoke, 404)
    assert (await client.get("/v1/me", headers=colleague.headers)).status_code == 200
    # Their own account works: /me names the client they belong to.
    me = await client.get("/v1/me", headers=portal.headers)
    assert me.json()["user"]["client_id"] == str(portal.user.client_id)


async def test_cannot_write_even_their_own_client(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    mine = await new_client(client, owner, "Mine Ltd")
    contact = await new_contact(client, owner, mine, "Ann")
    portal = await portal_user(db, owner, mine)

    for method, path, body in (
        ("PATCH", f"/v1/clients/{mine}", {"name": "Renamed"}),
        ("POST", f"/v1/clients/{mine}/archive", None),
        ("POST", f"/v1/clients/{mine}/contacts", {"name": "New"}),
        ("PATCH", f"/v1/clients/{mine}/contacts/{contact}", {"name": "Renamed"}),
        ("DELETE", f"/v1/clients/{mine}/contacts/{contact}", None),
        ("POST", "/v1/clients", {"name": "Another"}),
    ):
        response = await client.request(method, path, json=body, headers=portal.headers)
        assert_problem(response, 403)
    unchanged = await client.get(f"/v1/clients/{mine}", headers=owner.headers)
    assert unchanged.json()["name"] == "Mine Ltd" and unchanged.json()["archived_at"] is None


async def test_inviting_a_client_user_needs_one_of_the_firms_clients(
    client: AsyncClient,
    db: AsyncSession,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    mailbox: Mailbox,
) -> None:
    owner = await make_firm(db)
    other_firm = await make_firm(db, "Other")
    mine = await new_client(client, owner, "Mine Ltd")
    foreign = await new_client(client, other_firm, "Foreign Ltd")

    def invite(**fields: Any) -> dict[str, Any]:
        return {"email": f"{uuid.uuid4().hex[:8]}@client.example", **fields}

    missing = await client.post("/v1/users", json=invite(role="client"), headers=owner.headers)
    assert pointers(assert_problem(missing, 422)) == {"/client_id"}
    staff_linked = await client.post(
        "/v1/users", json=invite(role="staff", client_id=mine), headers=owner.headers
    )
    assert pointers(assert_problem(staff_linked, 422)) == {"/client_id"}
    for unknown in (foreign, str(uuid.uuid4())):
        response = await client.post(
            "/v1/users", json=invite(role="client", client_id=unknown), headers=owner.headers
        )
        assert_problem(response, 404)
    listed = await client.get("/v1/users", headers=owner.headers)
    assert len(listed.json()["items"]) == 1

    # The invitation's link is emailed: this app mails the test's mailbox.
    async with client_mailing_to(mailbox, settings, sessionmaker) as mailing:
        invited = await mailing.post(
            "/v1/users", json=invite(role="client", client_id=mine), headers=owner.headers
        )
    assert invited.status_code == 201, invited.text
    assert invited.json()["user"]["client_id"] == mine
    token = invitation_token(mailbox, invited.json()["user"]["email"])
    accepted = await client.post(
        "/v1/auth/accept-invitation", json={"token": token, "password": PASSWORD}
    )
    assert accepted.status_code == 200, accepted.text
    session = bearer(accepted.json()["token"])
    seen = await client.get("/v1/clients", headers=session)
    assert [c["id"] for c in seen.json()["items"]] == [mine]


async def test_role_changes_keep_the_client_link_consistent(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    staff = await add_user(db, owner, Role.staff)
    portal = await add_user(db, owner, Role.client)
    other = await new_client(client, owner, "Other Ltd")

    to_client = await client.patch(
        f"/v1/users/{staff.user.id}", json={"role": "client"}, headers=owner.headers
    )
    assert pointers(assert_problem(to_client, 422)) == {"/role"}

    promoted = await client.patch(
        f"/v1/users/{portal.user.id}", json={"role": "staff"}, headers=owner.headers
    )
    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["client_id"] is None and promoted.json()["role"] == "staff"
    # The promoted user's credentials now see the whole firm.
    seen = await client.get("/v1/clients", headers=portal.headers)
    assert other in {c["id"] for c in seen.json()["items"]}
    events = await client.get(
        "/v1/audit-events",
        params={"record_type": "user", "record_id": str(portal.user.id)},
        headers=owner.headers,
    )
    [event] = events.json()["items"]
    assert event["summary"]["before"] == {
        "role": "client",
        "client_id": str(portal.user.client_id),
    }
    assert event["summary"]["after"] == {"role": "staff", "client_id": None}


async def test_the_database_refuses_a_client_user_without_a_client(db: AsyncSession) -> None:
    owner = await make_firm(db)
    await scope_to_firm(db, owner.firm.id)
    db.add(
        User(
            firm_id=owner.firm.id,
            email="orphan@client.example",
            password_hash=hash_password(PASSWORD),
            role=Role.client,
        )
    )
    with pytest.raises(IntegrityError, match="ck_users_client_role_has_client"):
        async with db.begin_nested():
            await db.flush()


async def test_a_session_of_a_client_user_is_scoped_like_its_tokens(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    mine = await new_client(client, owner, "Mine Ltd")
    await new_client(client, owner, "Theirs Ltd")
    portal = await portal_user(db, owner, mine)
    login = await client.post(
        "/v1/auth/login", json={"email": portal.user.email, "password": PASSWORD}
    )
    assert login.status_code == 200, login.text

    seen = await client.get("/v1/clients", headers=bearer(login.json()["token"]))

    assert [c["id"] for c in seen.json()["items"]] == [mine]
