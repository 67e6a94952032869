"""Contacts under a client: CRUD, the single primary contact, archived clients, roles."""

import uuid
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import scope_to_firm
from core.roles import Role
from models import AuditEvent
from tests.factories import Actor, add_user, make_firm, new_client


async def new_contact(
    http: AsyncClient, actor: Actor, client_id: str, **body: Any
) -> dict[str, Any]:
    response = await http.post(
        f"/v1/clients/{client_id}/contacts",
        json={"name": "Grace Hopper", **body},
        headers=actor.headers,
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


async def primaries(http: AsyncClient, actor: Actor, client_id: str) -> list[str]:
    response = await http.get(f"/v1/clients/{client_id}/contacts", headers=actor.headers)
    return sorted(c["name"] for c in response.json()["items"] if c["is_primary"])


async def test_contact_lifecycle_with_audit(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    client_id = await new_client(client, owner)
    created = await new_contact(
        client, owner, client_id, email="Grace@Navy.mil", phone="555 0199", title=" Admiral "
    )
    assert created["client_id"] == client_id
    assert created["email"] == "grace@navy.mil"
    assert created["title"] == "Admiral"
    assert created["is_primary"] is False
    path = f"/v1/clients/{client_id}/contacts/{created['id']}"

    fetched = await client.get(path, headers=owner.headers)
    assert fetched.status_code == 200 and fetched.json() == created

    patched = await client.patch(
        path, json={"title": None, "phone": "555 0100"}, headers=owner.headers
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["title"] is None
    assert patched.json()["phone"] == "555 0100"
    assert patched.json()["email"] == "grace@navy.mil"

    deleted = await client.delete(path, headers=owner.headers)
    assert deleted.status_code == 204 and deleted.content == b""
    assert (await client.get(path, headers=owner.headers)).status_code == 404
    assert (await client.delete(path, headers=owner.headers)).status_code == 404

    await scope_to_firm(db, owner.firm.id)
    events = (
        await db.scalars(
            select(AuditEvent)
            .where(AuditEvent.record_id == uuid.UUID(created["id"]))
            .order_by(AuditEvent.created_at)
        )
    ).all()
    assert [e.action for e in events] == ["contact.created", "contact.updated", "contact.deleted"]
    assert events[0].summary["after"]["client_id"] == client_id
    assert events[1].summary == {
        "before": {"title": "Admiral", "phone": "555 0199"},
        "after": {"title": None, "phone": "555 0100"},
    }
    assert events[2].summary["before"]["name"] == "Grace Hopper"


async def test_one_primary_contact_per_client(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    client_id = await new_client(client, owner)
    other_client = await new_client(client, owner, "Other")
    await new_contact(client, owner, other_client, name="Elsewhere", is_primary=True)

    first = await new_contact(client, owner, client_id, name="First", is_primary=True)
    assert await primaries(client, owner, client_id) == ["First"]
    second = await new_contact(client, owner, client_id, name="Second", is_primary=True)
    assert await primaries(client, owner, client_id) == ["Second"]
    response = await client.patch(
        f"/v1/clients/{client_id}/contacts/{first['id']}",
        json={"is_primary": True},
        headers=owner.headers,
    )
    assert response.json()["is_primary"] is True
    assert await primaries(client, owner, client_id) == ["First"]
    assert await primaries(client, owner, other_client) == ["Elsewhere"]
    demoted = await client.get(
        f"/v1/clients/{client_id}/contacts/{second['id']}", headers=owner.headers
    )
    assert demoted.json()["is_primary"] is False
    assert demoted.json()["updated_at"] >= second["updated_at"]


async def test_list_contacts_pages_newest_first(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    client_id = await new_client(client, owner)
    other_client = await new_client(client, owner, "Other")
    await new_contact(client, owner, other_client, name="Not here")
    made = [(await new_contact(client, owner, client_id, name=f"P{i}"))["id"] for i in range(3)]

    first = await client.get(
        f"/v1/clients/{client_id}/contacts", params={"limit": 2}, headers=owner.headers
    )
    assert first.status_code == 200
    page = first.json()
    assert [c["id"] for c in page["items"]] == [made[2], made[1]]
    second = await client.get(
        f"/v1/clients/{client_id}/contacts",
        params={"limit": 2, "cursor": page["next_cursor"]},
        headers=owner.headers,
    )
    assert [c["id"] for c in second.json()["items"]] == [made[0]]
    assert second.json()["next_cursor"] is None

    bad = await client.get(
        f"/v1/clients/{client_id}/contacts", params={"cursor": "%%%"}, headers=owner.headers
    )
    assert bad.status_code == 400
    unknown = await client.get(f"/v1/clients/{uuid.uuid4()}/contacts", headers=owner.headers)
    assert unknown.status_code == 404


async def test_contact_must_belong_to_the_client_in_the_path(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    client_id = await new_client(client, owner)
    other_client = await new_client(client, owner, "Other")
    contact = await new_contact(client, owner, client_id)
    wrong = f"/v1/clients/{other_client}/contacts/{contact['id']}"
    assert (await client.get(wrong, headers=owner.headers)).status_code == 404
    patch = await client.patch(wrong, json={"name": "X"}, headers=owner.headers)
    assert patch.status_code == 404
    assert (await client.delete(wrong, headers=owner.headers)).status_code == 404
    right = await client.get(
        f"/v1/clients/{client_id}/contacts/{contact['id']}", headers=owner.headers
    )
    assert right.json() == contact


async def test_archived_client_contacts_are_read_only(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    client_id = await new_client(client, owner)
    contact = await new_contact(client, owner, client_id)
    archive = await client.post(f"/v1/clients/{client_id}/archive", headers=owner.headers)
    assert archive.status_code == 200
    path = f"/v1/clients/{client_id}/contacts"
    attempts = [
        await client.post(path, json={"name": "New"}, headers=owner.headers),
        await client.patch(f"{path}/{contact['id']}", json={"name": "X"}, headers=owner.headers),
        await client.delete(f"{path}/{contact['id']}", headers=owner.headers),
    ]
    assert [r.status_code for r in attempts] == [409, 409, 409]
    listed = await client.get(path, headers=owner.headers)
    assert [c["id"] for c in listed.json()["items"]] == [contact["id"]]
    assert (await client.get(f"{path}/{contact['id']}", headers=owner.headers)).json() == contact


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({}, "/name"),
        ({"name": " "}, "/name"),
        ({"name": "A", "email": "nope"}, "/email"),
        ({"name": "A", "phone": "phone"}, "/phone"),
        ({"name": "A", "title": "t" * 101}, "/title"),
        ({"name": "A", "is_primary": "sometimes"}, "/is_primary"),
        ({"name": "A", "client_id": str(uuid.uuid4())}, "/client_id"),
    ],
)
async def test_create_contact_rejects_invalid_fields(
    client: AsyncClient, db: AsyncSession, body: dict[str, object], pointer: str
) -> None:
    owner = await make_firm(db)
    client_id = await new_client(client, owner)
    response = await client.post(
        f"/v1/clients/{client_id}/contacts", json=body, headers=owner.headers
    )
    assert response.status_code == 422
    assert pointer in [e.get("pointer") for e in response.json()["errors"]]


@pytest.mark.parametrize(
    ("body", "pointer"),
    [({"name": None}, "/name"), ({"is_primary": None}, "/is_primary"), ({"x": 1}, "/x")],
)
async def test_update_contact_rejects_invalid_fields(
    client: AsyncClient, db: AsyncSession, body: dict[str, object], pointer: str
) -> None:
    owner = await make_firm(db)
    client_id = await new_client(client, owner)
    contact = await new_contact(client, owner, client_id)
    response = await client.patch(
        f"/v1/clients/{client_id}/contacts/{contact['id']}", json=body, headers=owner.headers
    )
    assert response.status_code == 422
    assert pointer in [e.get("pointer") for e in response.json()["errors"]]


async def test_contact_roles(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    client_id = await new_client(client, owner)
    contact = await new_contact(client, owner, client_id)
    staff = await add_user(db, owner, Role.staff)
    builder = await add_user(db, owner, Role.builder)
    portal = await add_user(db, owner, Role.client)
    path = f"/v1/clients/{client_id}/contacts"
    one = f"{path}/{contact['id']}"

    assert (await new_contact(client, staff, client_id, name="By staff"))["name"] == "By staff"
    for read in (path, one):
        assert (await client.get(read, headers=builder.headers)).status_code == 200
        # Not the client this client-role user belongs to: as if it did not exist.
        assert (await client.get(read, headers=portal.headers)).status_code == 404
        assert (await client.get(read)).status_code == 401
    writes = [
        await client.post(path, json={"name": "B"}, headers=builder.headers),
        await client.patch(one, json={"name": "B"}, headers=builder.headers),
        await client.delete(one, headers=builder.headers),
    ]
    assert [r.status_code for r in writes] == [403, 403, 403]
    assert (await client.get(one, headers=owner.headers)).json() == contact
