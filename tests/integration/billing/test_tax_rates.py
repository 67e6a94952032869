"""Tax rates over the API: create, read, change, archive (never delete), the unique
active name, percent rules, roles and tenancy."""

from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import scope_to_firm
from core.roles import Role
from models import AuditEvent
from tests.factories import Actor, add_user, make_firm
from tests.problems import assert_problem, pointers


async def create(http: AsyncClient, actor: Actor, **body: Any) -> dict[str, Any]:
    response = await http.post("/v1/tax-rates", json=body, headers=actor.headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_create_change_archive_and_list(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    staff = await add_user(db, owner, Role.staff)
    vat = await create(client, owner, name="  VAT  ", percent="20.125", inclusive=True)
    assert (vat["name"], vat["percent"], vat["inclusive"]) == ("VAT", "20.1250", True)
    sales = await create(client, owner, name="Sales tax", percent=7)
    assert sales["inclusive"] is False
    url = f"/v1/tax-rates/{vat['id']}"

    assert (await client.get(url, headers=staff.headers)).json() == vat
    patched = await client.patch(url, json={"percent": "21"}, headers=owner.headers)
    assert patched.status_code == 200 and patched.json()["percent"] == "21.0000"

    duplicate = await client.post(
        "/v1/tax-rates", json={"name": "VAT", "percent": 5}, headers=owner.headers
    )
    assert pointers(assert_problem(duplicate, 409)) == {"/name"}
    renamed = await client.patch(
        f"/v1/tax-rates/{sales['id']}", json={"name": "VAT"}, headers=owner.headers
    )
    assert_problem(renamed, 409)

    archived = await client.post(f"{url}/archive", headers=owner.headers)
    assert archived.status_code == 200 and archived.json()["archived_at"] is not None
    again = await client.post(f"{url}/archive", headers=owner.headers)
    assert again.json()["archived_at"] == archived.json()["archived_at"]
    assert_problem(await client.patch(url, json={"percent": 1}, headers=owner.headers), 409)
    reused = await create(client, owner, name="VAT", percent=19)

    active = await client.get("/v1/tax-rates", headers=staff.headers)
    assert [r["id"] for r in active.json()["items"]] == [reused["id"], sales["id"]]
    everything = await client.get(
        "/v1/tax-rates", params={"include_archived": "true", "limit": 2}, headers=staff.headers
    )
    assert [r["id"] for r in everything.json()["items"]] == [reused["id"], sales["id"]]
    rest = await client.get(
        "/v1/tax-rates",
        params={"include_archived": "true", "cursor": everything.json()["next_cursor"]},
        headers=staff.headers,
    )
    assert [r["id"] for r in rest.json()["items"]] == [vat["id"]]

    await scope_to_firm(db, owner.firm.id)
    actions = await db.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.record_type == "tax_rate")
        .order_by(AuditEvent.created_at)
    )
    assert list(actions) == [
        "tax_rate.created",
        "tax_rate.created",
        "tax_rate.updated",
        "tax_rate.archived",
        "tax_rate.created",
    ]


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"name": "", "percent": 5}, "/name"),
        ({"name": "x" * 101, "percent": 5}, "/name"),
        ({"name": "Tax", "percent": "100.0001"}, "/percent"),
        ({"name": "Tax", "percent": -1}, "/percent"),
        ({"name": "Tax", "percent": "1.00001"}, "/percent"),
        ({"name": "Tax"}, "/percent"),
        ({"name": "Tax", "percent": 5, "inclusive": "sometimes"}, "/inclusive"),
        ({"name": "Tax", "percent": 5, "country": "FR"}, "/country"),
    ],
)
async def test_invalid_rates_name_the_field(
    client: AsyncClient, db: AsyncSession, body: dict[str, Any], pointer: str
) -> None:
    owner = await make_firm(db)
    response = await client.post("/v1/tax-rates", json=body, headers=owner.headers)
    assert pointer in pointers(assert_problem(response, 422))


async def test_null_in_a_patch_is_refused(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    rate = await create(client, owner, name="VAT", percent=20)
    response = await client.patch(
        f"/v1/tax-rates/{rate['id']}", json={"percent": None}, headers=owner.headers
    )
    assert pointers(assert_problem(response, 422)) == {"/percent"}


async def test_roles_and_tenancy(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    staff = await add_user(db, owner, Role.staff)
    builder = await add_user(db, owner, Role.builder)
    other = await make_firm(db, "Other")
    rate = await create(client, owner, name="VAT", percent=20)
    url = f"/v1/tax-rates/{rate['id']}"
    body = {"name": "Staff tax", "percent": 1}
    assert_problem(await client.post("/v1/tax-rates", json=body, headers=staff.headers), 403)
    assert_problem(await client.patch(url, json={"percent": 1}, headers=staff.headers), 403)
    assert_problem(await client.post(f"{url}/archive", headers=staff.headers), 403)
    assert_problem(await client.get("/v1/tax-rates", headers=builder.headers), 403)
    assert_problem(await client.get(url, headers=other.headers), 404)
    assert_problem(await client.patch(url, json={"percent": 1}, headers=other.headers), 404)
    assert_problem(await client.post(f"{url}/archive", headers=other.headers), 404)
    listed = await client.get("/v1/tax-rates", headers=other.headers)
    assert listed.json()["items"] == []
