"""Clients: the field rules, bulk and single creation, updates, archiving and the list."""

import uuid
from typing import Any
from unittest.mock import ANY

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import scope_to_firm
from core.errors import Unprocessable
from core.roles import Role
from models import AuditEvent, Client, OutboxMessage
from services import clients
from tests.factories import Actor, add_user, make_firm, principal_of


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


# --- API -------------------------------------------------------------------------------


async def post_client(http: AsyncClient, actor: Actor, **body: object) -> dict[str, Any]:
    response = await http.post(
        "/v1/clients", json={"name": "Northwind", **body}, headers=actor.headers
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


async def test_create_client_returns_it_and_records_audit_and_event(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    response = await client.post(
        "/v1/clients",
        json={
            "name": " Ada Lovelace ",
            "kind": "person",
            "email": "Ada@Example.com",
            "phone": "+44 20 7946 0958",
            "status": "active",
            "tags": ["vip", "tax"],
            "custom_fields": {"industry": "maths", "employees": 1},
            "external_ref": "CRM-1",
        },
        headers=owner.headers,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["name"] == "Ada Lovelace"
    assert body["email"] == "ada@example.com"
    assert body["kind"] == "person" and body["status"] == "active"
    assert body["tags"] == ["vip", "tax"]
    assert body["custom_fields"] == {"industry": "maths", "employees": 1}
    assert body["archived_at"] is None
    client_id = uuid.UUID(body["id"])

    await scope_to_firm(db, owner.firm.id)
    event = await db.scalar(select(AuditEvent).where(AuditEvent.record_id == client_id))
    assert event is not None
    assert event.action == "client.created" and event.actor_id == owner.user.id
    assert event.summary["after"]["email"] == "ada@example.com"
    message = await db.scalar(
        select(OutboxMessage).where(OutboxMessage.dedupe_key == f"client.created:{client_id}")
    )
    assert message is not None
    assert message.kind == "event"
    assert message.payload == {"event": "client.created", "client_id": str(client_id)}


@pytest.mark.parametrize(
    ("first", "second", "field"),
    [
        ({"email": "dup@example.com"}, {"email": "DUP@example.com"}, "email"),
        ({"external_ref": "CRM-9"}, {"external_ref": "CRM-9"}, "external_ref"),
    ],
)
async def test_create_duplicate_is_409_naming_the_field(
    client: AsyncClient,
    db: AsyncSession,
    first: dict[str, str],
    second: dict[str, str],
    field: str,
) -> None:
    owner = await make_firm(db)
    await post_client(client, owner, **first)
    response = await client.post(
        "/v1/clients", json={"name": "Other", **second}, headers=owner.headers
    )
    assert response.status_code == 409
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert problem["errors"] == [{"pointer": f"/{field}", "detail": ANY}]
    assert field.replace("_ref", " reference") in problem["detail"]


async def test_same_email_in_another_firm_is_fine(client: AsyncClient, db: AsyncSession) -> None:
    alpha = await make_firm(db, "Alpha")
    beta = await make_firm(db, "Beta")
    await post_client(client, alpha, email="shared@example.com", external_ref="R1")
    await post_client(client, beta, email="shared@example.com", external_ref="R1")


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"name": ""}, "/name"),
        ({"name": "A", "email": "nope"}, "/email"),
        ({"name": "A", "tags": [f"t{i}" for i in range(51)]}, "/tags"),
        ({"name": "A", "tags": ["x" * 51]}, "/tags/0"),
        ({"name": "A", "custom_fields": {"k": "v" * 16_400}}, "/custom_fields"),
        ({"name": "A", "custom_fields": "text"}, "/custom_fields"),
        ({"name": "A", "status": "archived"}, "/status"),
        ({"name": "A", "id": str(uuid.uuid4())}, "/id"),
    ],
)
async def test_create_rejects_invalid_fields(
    client: AsyncClient, db: AsyncSession, body: dict[str, object], pointer: str
) -> None:
    owner = await make_firm(db)
    response = await client.post("/v1/clients", json=body, headers=owner.headers)
    assert response.status_code == 422
    assert pointer in [e.get("pointer") for e in response.json()["errors"]]


async def test_roles(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    created = await post_client(client, owner)
    staff = await add_user(db, owner, Role.staff)
    builder = await add_user(db, owner, Role.builder)
    portal = await add_user(db, owner, Role.client)

    assert (
        await client.post("/v1/clients", json={"name": "S"}, headers=staff.headers)
    ).status_code == 201
    for path in (f"/v1/clients/{created['id']}", "/v1/clients"):
        assert (await client.get(path, headers=builder.headers)).status_code == 200
        assert (await client.get(path)).status_code == 401
    # A client-role user sees only the client they belong to (more in test_client_role.py).
    other = await client.get(f"/v1/clients/{created['id']}", headers=portal.headers)
    assert other.status_code == 404
    writes = [
        ("POST", "/v1/clients", {"name": "B"}),
        ("PATCH", f"/v1/clients/{created['id']}", {"name": "B"}),
        ("POST", f"/v1/clients/{created['id']}/archive", None),
        ("POST", f"/v1/clients/{created['id']}/unarchive", None),
    ]
    for method, path, body in writes:
        response = await client.request(method, path, json=body, headers=builder.headers)
        assert response.status_code == 403, (method, path)
    unchanged = await client.get(f"/v1/clients/{created['id']}", headers=owner.headers)
    assert unchanged.json() == created


async def test_get_unknown_client_is_404(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    response = await client.get(f"/v1/clients/{uuid.uuid4()}", headers=owner.headers)
    assert response.status_code == 404
    assert response.json()["detail"] == "No client with this id in your firm"
    malformed = await client.get("/v1/clients/not-a-uuid", headers=owner.headers)
    assert malformed.status_code == 422


async def test_update_changes_only_sent_fields_and_audits_the_difference(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    created = await post_client(client, owner, email="a@example.com", phone="555 0100", tags=["x"])
    response = await client.patch(
        f"/v1/clients/{created['id']}",
        json={"name": "Northwind Ltd", "email": None, "tags": ["x"], "status": "active"},
        headers=owner.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == "Northwind Ltd"
    assert body["email"] is None
    assert body["phone"] == "555 0100"
    assert body["status"] == "active"

    await scope_to_firm(db, owner.firm.id)
    event = await db.scalar(select(AuditEvent).where(AuditEvent.action == "client.updated"))
    assert event is not None and str(event.record_id) == created["id"]
    assert event.summary == {
        "before": {"name": "Northwind", "email": "a@example.com", "status": "prospect"},
        "after": {"name": "Northwind Ltd", "email": None, "status": "active"},
    }


async def test_update_without_changes_records_nothing(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    created = await post_client(client, owner)
    for body in ({}, {"name": "Northwind"}):
        response = await client.patch(
            f"/v1/clients/{created['id']}", json=body, headers=owner.headers
        )
        assert response.status_code == 200
        assert response.json() == created
    await scope_to_firm(db, owner.firm.id)
    actions = (await db.scalars(select(AuditEvent.action))).all()
    assert "client.updated" not in actions


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"name": None}, "/name"),
        ({"status": None}, "/status"),
        ({"tags": None}, "/tags"),
        ({"custom_fields": None}, "/custom_fields"),
        ({"kind": None}, "/kind"),
        ({"email": "bad"}, "/email"),
        ({"unknown": 1}, "/unknown"),
    ],
)
async def test_update_rejects_invalid_fields(
    client: AsyncClient, db: AsyncSession, body: dict[str, object], pointer: str
) -> None:
    owner = await make_firm(db)
    created = await post_client(client, owner)
    response = await client.patch(f"/v1/clients/{created['id']}", json=body, headers=owner.headers)
    assert response.status_code == 422
    assert pointer in [e.get("pointer") for e in response.json()["errors"]]


@pytest.mark.parametrize(
    ("field", "value"), [("email", "TAKEN@example.com"), ("external_ref", "CRM-7")]
)
async def test_update_to_a_taken_value_is_409(
    client: AsyncClient, db: AsyncSession, field: str, value: str
) -> None:
    owner = await make_firm(db)
    await post_client(client, owner, name="First", email="taken@example.com", external_ref="CRM-7")
    second = await post_client(client, owner, name="Second")
    response = await client.patch(
        f"/v1/clients/{second['id']}", json={field: value}, headers=owner.headers
    )
    assert response.status_code == 409
    assert response.json()["errors"][0]["pointer"] == f"/{field}"
    again = await client.get(f"/v1/clients/{second['id']}", headers=owner.headers)
    assert again.json() == second


async def test_archive_hides_freezes_and_unarchive_restores(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    kept = await post_client(client, owner, name="Kept")
    gone = await post_client(client, owner, name="Gone")

    for _ in range(2):
        response = await client.post(f"/v1/clients/{gone['id']}/archive", headers=owner.headers)
        assert response.status_code == 200
        assert response.json()["archived_at"] is not None
    listed = await client.get("/v1/clients", headers=owner.headers)
    assert [c["id"] for c in listed.json()["items"]] == [kept["id"]]
    archived = await client.get("/v1/clients?archived=true", headers=owner.headers)
    assert [c["id"] for c in archived.json()["items"]] == [gone["id"]]
    assert (await client.get(f"/v1/clients/{gone['id']}", headers=owner.headers)).status_code == 200

    frozen = await client.patch(
        f"/v1/clients/{gone['id']}", json={"name": "Back"}, headers=owner.headers
    )
    assert frozen.status_code == 409
    assert "archived" in frozen.json()["detail"]

    restored = await client.post(f"/v1/clients/{gone['id']}/unarchive", headers=owner.headers)
    assert restored.status_code == 200 and restored.json()["archived_at"] is None
    listed = await client.get("/v1/clients", headers=owner.headers)
    assert {c["id"] for c in listed.json()["items"]} == {kept["id"], gone["id"]}

    await scope_to_firm(db, owner.firm.id)
    actions = (
        await db.scalars(
            select(AuditEvent.action).where(AuditEvent.record_id == uuid.UUID(gone["id"]))
        )
    ).all()
    assert sorted(actions) == ["client.archived", "client.created", "client.unarchived"]


async def test_list_pages_through_everything_newest_first(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    other = await make_firm(db, "Other")
    await post_client(client, other, name="Not mine")
    created = [(await post_client(client, owner, name=f"C{i}"))["id"] for i in range(5)]

    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": 2}
        if cursor is not None:
            params["cursor"] = cursor
        response = await client.get("/v1/clients", params=params, headers=owner.headers)
        assert response.status_code == 200
        page = response.json()
        assert len(page["items"]) <= 2
        seen += [c["id"] for c in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(created))
    assert pages == 3

    full = await client.get("/v1/clients", params={"limit": 5}, headers=owner.headers)
    assert full.json()["next_cursor"] is None
    assert len(full.json()["items"]) == 5


async def test_list_filters(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    ada = await post_client(
        client, owner, name="Ada Lovelace", email="ada@analytical.org", tags=["vip", "tax"]
    )
    bob = await post_client(client, owner, name="Bob 100%_Corp", status="active", tags=["vip"])
    cyd = await post_client(client, owner, name="Cyd", email="cyd@BOBCORP.com", status="active")
    # The list reads through the firm_clients view (services.clients.FIRM_CLIENTS): another
    # firm's look-alike must still stay out.
    other = await make_firm(db, "Other")
    await post_client(client, other, name="Ada Bob 100%_Corp", status="active", tags=["vip", "tax"])

    async def ids(**params: Any) -> list[str]:
        response = await client.get("/v1/clients", params=params, headers=owner.headers)
        assert response.status_code == 200, response.text
        return sorted(c["id"] for c in response.json()["items"])

    assert await ids(status="active") == sorted([bob["id"], cyd["id"]])
    assert await ids(status="prospect") == [ada["id"]]
    assert await ids(tag="vip") == sorted([ada["id"], bob["id"]])
    assert await ids(tag=["vip", "tax"]) == [ada["id"]]
    assert await ids(tag="none") == []
    assert await ids(q="LOVE") == [ada["id"]]
    assert await ids(q="analytical") == [ada["id"]]
    assert await ids(q="bob") == sorted([bob["id"], cyd["id"]])
    assert await ids(q="100%_") == [bob["id"]]
    assert await ids(q="%") == [bob["id"]]
    assert await ids(q="_") == [bob["id"]]
    assert await ids(q="bob", status="active", tag="vip") == [bob["id"]]


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 101},
        {"limit": "many"},
        {"status": "gone"},
        {"q": ""},
        {"archived": "perhaps"},
        {"tag": [f"t{i}" for i in range(11)]},
    ],
)
async def test_list_rejects_bad_parameters(
    client: AsyncClient, db: AsyncSession, params: dict[str, Any]
) -> None:
    owner = await make_firm(db)
    response = await client.get("/v1/clients", params=params, headers=owner.headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["in"] == "query"


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not base64!",
        "eyJ0IjoiMjAyNC0wMS0wMVQwMDowMDowMCswMDowMCJ9",  # a JSON object without the id
        "W10",  # []
        "x" * 500,
    ],
)
async def test_list_rejects_tampered_cursor_with_400(
    client: AsyncClient, db: AsyncSession, cursor: str
) -> None:
    owner = await make_firm(db)
    response = await client.get("/v1/clients", params={"cursor": cursor}, headers=owner.headers)
    assert response.status_code == 400
    problem = response.json()
    assert problem["errors"][0]["parameter"] == "cursor"
    assert "cursor" in problem["detail"]
