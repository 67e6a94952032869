"""Clients: the field rules, bulk and single creation, updates, archiving and the list."""

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import Unprocessable
from core.principal import Principal
from models import AuditEvent, Client, OutboxMessage, Role
from services import clients
from tests.factories import Actor, make_firm


def principal_of(actor: Actor) -> Principal:
    return Principal(
        firm_id=actor.firm.id, user_id=actor.user.id, role=Role.owner, credential="api_token"
    )


def fields(**overrides: object) -> clients.ClientFields:
    return clients.validate_client_fields({"name": "Northwind", **overrides})


async def test_insert_clients_skips_duplicates_and_reports_per_row(db: AsyncSession) -> None:
    actor = await make_firm(db)
    principal = principal_of(actor)
    [existing] = await clients.insert_clients(
        db, principal, [fields(email="taken@example.com", external_ref="X-1")]
    )
    assert existing is not None

    result = await clients.insert_clients(
        db,
        principal,
        [
            fields(name="A", email="TAKEN@example.com"),
            fields(name="B", external_ref="X-1"),
            fields(name="C", email="new@example.com"),
            fields(name="D", email="new@example.com"),
            fields(name="E"),
        ],
    )
    assert [r is not None for r in result] == [False, False, True, False, True]
    names = (
        await db.scalars(
            select(Client.name).where(Client.firm_id == actor.firm.id).order_by(Client.name)
        )
    ).all()
    assert names == ["C", "E", "Northwind"]
    created = {r for r in result if r is not None}
    events = (
        await db.scalars(select(AuditEvent.record_id).where(AuditEvent.action == "client.created"))
    ).all()
    assert created <= set(events) and len(events) == 3
    keys = (await db.scalars(select(OutboxMessage.dedupe_key))).all()
    assert {f"client.created:{c}" for c in created} <= set(keys)


async def test_insert_clients_with_no_rows_does_nothing(db: AsyncSession) -> None:
    actor = await make_firm(db)
    assert await clients.insert_clients(db, principal_of(actor), []) == []
    count = await db.scalar(select(func.count()).select_from(Client))
    assert count == 0


@pytest.mark.parametrize(
    ("data", "pointer"),
    [
        ({"name": "  "}, "/name"),
        ({"name": "x" * 201}, "/name"),
        ({"name": "A", "email": "not-an-email"}, "/email"),
        ({"name": "A", "kind": "robot"}, "/kind"),
        ({"name": "A", "status": "gone"}, "/status"),
        ({"name": "A", "phone": "call me"}, "/phone"),
        ({"name": "A", "phone": "(1)"}, "/phone"),
        ({"name": "A", "tags": ["t"] * 51}, "/tags"),
        ({"name": "A", "tags": ["x" * 51]}, "/tags/0"),
        ({"name": "A", "tags": [""]}, "/tags/0"),
        ({"name": "A", "custom_fields": {"big": "x" * 17000}}, "/custom_fields"),
        ({"name": "A", "custom_fields": ["not", "an", "object"]}, "/custom_fields"),
        ({"name": "A", "external_ref": "r" * 101}, "/external_ref"),
        ({"name": "A", "colour": "red"}, "/colour"),
        ({}, "/name"),
    ],
)
def test_validate_client_fields_rejects(data: dict[str, object], pointer: str) -> None:
    with pytest.raises(Unprocessable) as caught:
        clients.validate_client_fields(data)
    assert caught.value.errors is not None
    assert pointer in [e["pointer"] for e in caught.value.errors]
    assert pointer.split("/")[1] in caught.value.detail


def test_validate_client_fields_normalises() -> None:
    got = clients.validate_client_fields(
        {
            "name": "  Ada Lovelace ",
            "kind": "person",
            "email": " Ada@Example.COM ",
            "phone": " +44 (20) 7946-0958 ",
            "tags": ["vip", " vip ", "tax"],
            "external_ref": "  ",
        }
    )
    assert got.name == "Ada Lovelace"
    assert got.email == "ada@example.com"
    assert got.phone == "+44 (20) 7946-0958"
    assert got.external_ref is None
    assert got.tags == ["vip", "tax"]
    assert got.status == "prospect"
