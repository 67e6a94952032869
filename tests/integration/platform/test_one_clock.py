"""created_at and updated_at come from one clock: a row just created, or created and at
once updated in the same transaction, never looks updated before it was created."""

from datetime import datetime
from typing import Any

from httpx import AsyncClient
from sqlalchemy import Column
from sqlalchemy.ext.asyncio import AsyncSession

import models
from models.base import clock
from tests.factories import Actor, make_firm

CLOCK = str(clock())


def _ordered(body: dict[str, Any]) -> tuple[datetime, datetime]:
    created = datetime.fromisoformat(body["created_at"])
    updated = datetime.fromisoformat(body["updated_at"])
    assert created <= updated, body
    return created, updated


async def _create_then_update(
    http: AsyncClient, actor: Actor, path: str, create: dict[str, Any], update: dict[str, Any]
) -> dict[str, Any]:
    created = await http.post(path, json=create, headers=actor.headers)
    assert created.status_code == 201, created.text
    _ordered(created.json())
    url = f"{path}/{created.json()['id']}"
    patched = await http.patch(url, json=update, headers=actor.headers)
    assert patched.status_code == 200, patched.text
    before, _ = _ordered(patched.json())
    assert before == datetime.fromisoformat(created.json()["created_at"])
    body: dict[str, Any] = patched.json()
    return body


async def test_created_then_updated_rows_are_never_updated_before_they_were_created(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    customer = await _create_then_update(
        client, owner, "/v1/clients", {"name": "Northwind"}, {"name": "Northwind Ltd"}
    )
    await _create_then_update(
        client,
        owner,
        f"/v1/clients/{customer['id']}/contacts",
        {"name": "Grace Hopper"},
        {"title": "Admiral"},
    )
    await _create_then_update(
        client, owner, "/v1/automations", {"name": "Welcome"}, {"name": "Welcome v2"}
    )
    await _create_then_update(
        client,
        owner,
        "/v1/invoices",
        {
            "client_id": customer["id"],
            "lines": [{"description": "Audit", "quantity": "1", "unit_price": 5_000}],
        },
        {"notes": "Net 30"},
    )


def _default_sql(column: Column[Any], which: str) -> str | None:
    default = getattr(column, which)
    return None if default is None else str(default.arg)


def test_every_table_with_both_timestamps_uses_one_clock_for_both() -> None:
    tables = [
        table
        for table in models.Base.metadata.sorted_tables
        if "created_at" in table.c and "updated_at" in table.c
    ]
    assert len(tables) > 10, "the scan found the timestamped tables"
    clocks = {
        (table.name, name, which): _default_sql(table.c[name], which)
        for table in tables
        for name, which in (
            ("created_at", "server_default"),
            ("updated_at", "server_default"),
            ("updated_at", "onupdate"),
        )
    }
    assert {key: sql for key, sql in clocks.items() if sql != CLOCK} == {}


def test_a_row_with_more_than_one_stamp_takes_them_all_from_the_one_clock() -> None:
    """A credential's ``value_updated_at`` beside its ``created_at``, and any later pair:
    two stamps of one row from two clocks can be out of order."""
    mixed = {}
    for table in models.Base.metadata.sorted_tables:
        stamps = {
            f"{column.name}.{which}": sql
            for column in table.c
            for which in ("server_default", "onupdate")
            if (sql := _default_sql(column, which)) in {CLOCK, "now()"}
        }
        if len(stamps) > 1 and set(stamps.values()) != {CLOCK}:
            mixed[table.name] = stamps
    assert mixed == {}
