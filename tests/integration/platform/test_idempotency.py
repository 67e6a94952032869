"""Idempotency-Key on create endpoints: a retry replays the first response, a reused key
with another request is a 409, and errors are never remembered."""

import asyncio
import uuid
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.idempotency import REPLAYED_HEADER
from core.config import Settings
from core.db import scope_to_firm, tenant_session
from core.roles import Role
from models import AuditEvent, Client, Contact, IdempotencyKey
from tests.factories import Actor, add_user, make_firm
from tests.problems import assert_problem


def keyed(actor: Actor, key: str) -> dict[str, str]:
    return {**actor.headers, "Idempotency-Key": key}


async def count(db: AsyncSession, actor: Actor, model: type[Client] | type[Contact]) -> int:
    await scope_to_firm(db, actor.firm.id)
    return (await db.scalar(select(func.count()).select_from(model))) or 0


async def test_same_key_and_body_replays_the_first_response(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    body = {"name": "Northwind", "email": "ops@northwind.example"}
    first = await client.post("/v1/clients", json=body, headers=keyed(owner, "k-1"))
    assert first.status_code == 201
    assert REPLAYED_HEADER not in first.headers
    again = await client.post("/v1/clients", json=body, headers=keyed(owner, "k-1"))
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers[REPLAYED_HEADER] == "true"

    assert await count(db, owner, Client) == 1
    created = await db.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "client.created")
    )
    assert created == 1
    stored = await db.scalar(select(IdempotencyKey))
    assert stored is not None
    assert stored.route == "POST /v1/clients"
    assert stored.principal_id == owner.user.id
    assert stored.response_status == 201 and stored.response_body == first.json()


async def test_same_key_with_another_body_is_409(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    first = await client.post("/v1/clients", json={"name": "A"}, headers=keyed(owner, "k"))
    assert first.status_code == 201
    other = await client.post("/v1/clients", json={"name": "B"}, headers=keyed(owner, "k"))
    assert other.status_code == 409
    assert "Idempotency-Key" in other.json()["detail"]
    assert await count(db, owner, Client) == 1


async def test_without_a_key_each_request_creates(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    for _ in range(2):
        response = await client.post("/v1/clients", json={"name": "A"}, headers=owner.headers)
        assert response.status_code == 201
    assert await count(db, owner, Client) == 2
    assert (await db.scalar(select(func.count()).select_from(IdempotencyKey))) == 0


@pytest.mark.parametrize("key", ["", "k" * 256])
async def test_key_length_outside_1_to_255_is_422(
    client: AsyncClient, db: AsyncSession, key: str
) -> None:
    owner = await make_firm(db)
    response = await client.post("/v1/clients", json={"name": "A"}, headers=keyed(owner, key))
    problem = assert_problem(response, 422)
    assert [(e["parameter"], e["in"]) for e in problem["errors"]] == [("Idempotency-Key", "header")]
    assert await count(db, owner, Client) == 0


async def test_longest_key_is_accepted(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    key = "k" * 255
    for _ in range(2):
        response = await client.post("/v1/clients", json={"name": "A"}, headers=keyed(owner, key))
        assert response.status_code == 201
    assert await count(db, owner, Client) == 1


async def test_keys_belong_to_one_user(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    staff = await add_user(db, owner, Role.staff)
    other_firm = await make_firm(db, "Other")
    for actor in (owner, staff, other_firm):
        response = await client.post("/v1/clients", json={"name": "A"}, headers=keyed(actor, "k"))
        assert response.status_code == 201
        assert REPLAYED_HEADER not in response.headers
    assert await count(db, owner, Client) == 2


async def test_keys_belong_to_one_route_and_one_path(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    made = await client.post("/v1/clients", json={"name": "A"}, headers=keyed(owner, "k"))
    client_a = made.json()["id"]
    client_b = (await client.post("/v1/clients", json={"name": "B"}, headers=owner.headers)).json()[
        "id"
    ]
    contact = {"name": "Grace"}
    first = await client.post(
        f"/v1/clients/{client_a}/contacts", json=contact, headers=keyed(owner, "k")
    )
    assert first.status_code == 201 and REPLAYED_HEADER not in first.headers
    replay = await client.post(
        f"/v1/clients/{client_a}/contacts", json=contact, headers=keyed(owner, "k")
    )
    assert replay.status_code == 201 and replay.json() == first.json()
    elsewhere = await client.post(
        f"/v1/clients/{client_b}/contacts", json=contact, headers=keyed(owner, "k")
    )
    assert elsewhere.status_code == 409
    assert await count(db, owner, Contact) == 1
    routes = (await db.scalars(select(IdempotencyKey.route).order_by(IdempotencyKey.route))).all()
    assert routes == ["POST /v1/clients", "POST /v1/clients/{client_id}/contacts"]


async def test_a_failed_request_is_not_remembered(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    holder = await client.post(
        "/v1/clients", json={"name": "Holder", "email": "x@example.com"}, headers=owner.headers
    )
    body = {"name": "Newcomer", "email": "x@example.com"}
    refused = await client.post("/v1/clients", json=body, headers=keyed(owner, "retry-me"))
    assert refused.status_code == 409
    await client.patch(
        f"/v1/clients/{holder.json()['id']}", json={"email": None}, headers=owner.headers
    )
    retried = await client.post("/v1/clients", json=body, headers=keyed(owner, "retry-me"))
    assert retried.status_code == 201
    assert retried.json()["name"] == "Newcomer"
    assert REPLAYED_HEADER not in retried.headers


async def test_concurrent_requests_with_one_key_create_once(
    settings: Settings,
    committing_sessionmaker: async_sessionmaker[AsyncSession],
    committed_owner: Actor,
) -> None:
    from api.app import create_app

    app = create_app(settings, sessionmaker=committing_sessionmaker)
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    body: dict[str, Any] = {"name": "Racer", "external_ref": f"race-{uuid.uuid4()}"}
    async with AsyncClient(transport=transport, base_url="http://testserver") as http:
        responses = await asyncio.gather(
            *(
                http.post("/v1/clients", json=body, headers=keyed(committed_owner, "race"))
                for _ in range(4)
            )
        )
    assert [r.status_code for r in responses] == [201] * 4
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum(REPLAYED_HEADER not in r.headers for r in responses) == 1
    async with tenant_session(committed_owner.firm.id, committing_sessionmaker) as session:
        made = await session.scalar(select(func.count()).select_from(Client))
    assert made == 1
