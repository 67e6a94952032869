"""GET /v1/audit-events: owners and admins read their firm's trail, newest first."""

import uuid
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from core.roles import Role
from tests.factories import Actor, add_user, make_firm, new_client


async def events(http: AsyncClient, actor: Actor, **params: Any) -> list[dict[str, Any]]:
    response = await http.get("/v1/audit-events", params=params, headers=actor.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_lists_the_firms_trail_newest_first(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    other = await make_firm(db, "Other")
    await new_client(client, other, "Theirs")
    first = await new_client(client, owner, "First")
    second = await new_client(client, owner, "Second")
    patch = await client.patch(
        f"/v1/clients/{first}", json={"status": "active"}, headers=owner.headers
    )
    assert patch.status_code == 200

    items = await events(client, owner)
    assert [(e["action"], e["record_id"]) for e in items] == [
        ("client.updated", first),
        ("client.created", second),
        ("client.created", first),
        ("firm.created", str(owner.firm.id)),
    ]
    update = items[0]
    assert update["actor_type"] == "user"
    assert update["actor_id"] == str(owner.user.id)
    assert update["record_type"] == "client"
    assert update["summary"] == {"before": {"status": "prospect"}, "after": {"status": "active"}}


async def test_pages_with_a_cursor(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    for i in range(4):
        await new_client(client, owner, f"C{i}")
    everything = await events(client, owner)
    assert len(everything) == 5

    collected: list[str] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        response = await client.get("/v1/audit-events", params=params, headers=owner.headers)
        page = response.json()
        collected += [e["id"] for e in page["items"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert collected == [e["id"] for e in everything]


async def test_filters(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    admin = await add_user(db, owner, Role.admin)
    mine = await new_client(client, owner, "Mine")
    theirs = await new_client(client, admin, "Theirs")
    await client.patch(f"/v1/clients/{mine}", json={"name": "Mine 2"}, headers=admin.headers)

    by_record = await events(client, owner, record_type="client", record_id=mine)
    assert [e["action"] for e in by_record] == ["client.updated", "client.created"]
    assert {e["record_id"] for e in by_record} == {mine}
    assert await events(client, owner, record_type="contact", record_id=mine) == []
    by_type = await events(client, owner, record_type="client")
    assert len(by_type) == 3
    by_actor = await events(client, owner, actor_id=str(admin.user.id))
    assert [(e["action"], e["record_id"]) for e in by_actor] == [
        ("client.updated", mine),
        ("client.created", theirs),
    ]
    assert await events(client, owner, actor_id=str(uuid.uuid4())) == []
    by_action = await events(client, owner, action="client.updated")
    assert [(e["action"], e["record_id"]) for e in by_action] == [("client.updated", mine)]
    assert await events(client, owner, action="client.deleted") == []

    everything = await events(client, owner)
    middle = everything[1]["created_at"]
    since = await events(client, owner, **{"from": middle})
    assert [e["id"] for e in since] == [e["id"] for e in everything[:2]]
    until = await events(client, owner, to=middle)
    assert [e["id"] for e in until] == [e["id"] for e in everything[2:]]
    window = await events(client, owner, **{"from": everything[2]["created_at"], "to": middle})
    assert [e["id"] for e in window] == [everything[2]["id"]]


@pytest.mark.parametrize(
    ("params", "status", "parameter"),
    [
        ({"record_id": str(uuid.uuid4())}, 400, "record_type"),
        ({"from": "2030-01-01T00:00:00Z", "to": "2029-01-01T00:00:00Z"}, 400, "from"),
        ({"from": "2030-01-01T00:00:00Z", "to": "2030-01-01T00:00:00Z"}, 400, "from"),
        ({"from": "2030-01-01T00:00:00"}, 422, "from"),
        ({"to": "yesterday"}, 422, "to"),
        ({"actor_id": "someone"}, 422, "actor_id"),
        ({"record_type": "x" * 51}, 422, "record_type"),
        ({"action": ""}, 422, "action"),
        ({"limit": 1000}, 422, "limit"),
        ({"cursor": "eyJ0IjoxLCJpIjoyfQ"}, 400, "cursor"),
    ],
)
async def test_rejects_bad_filters(
    client: AsyncClient, db: AsyncSession, params: dict[str, str], status: int, parameter: str
) -> None:
    owner = await make_firm(db)
    response = await client.get("/v1/audit-events", params=params, headers=owner.headers)
    assert response.status_code == status, response.text
    assert response.json()["errors"][0]["parameter"] == parameter


async def test_only_owners_and_admins(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    admin = await add_user(db, owner, Role.admin)
    assert len(await events(client, admin)) >= 1
    for role in (Role.staff, Role.builder, Role.client):
        actor = await add_user(db, owner, role)
        response = await client.get("/v1/audit-events", headers=actor.headers)
        assert response.status_code == 403, role
    assert (await client.get("/v1/audit-events")).status_code == 401
