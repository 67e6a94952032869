"""The clients list reads plain rows (core.pagination.read_page), not mapped instances: its
answer is byte for byte what the same page built from ORM instances serialises to."""

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.schemas.clients import ClientRead
from api.schemas.common import Page
from core.db import scope_to_firm
from core.pagination import encode_cursor
from models import Client
from tests.factories import make_firm, new_client


async def test_a_page_of_rows_is_the_page_of_instances_byte_for_byte(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    await new_client(client, owner, "Plain")
    await new_client(
        client,
        owner,
        "Ünïcode & Co",
        kind="person",
        email="Ada@Example.com",
        phone="+44 20 7946 0958",
        status="active",
        tags=["vip", "tax"],
        custom_fields={"tier": 2, "notes": ["a", None], "nested": {"ok": True, "x": 1.5}},
        external_ref="ref-1",
    )
    paused = await new_client(client, owner, "Paused")
    pause = await client.post(f"/v1/clients/{paused}/dunning/pause", headers=owner.headers)
    assert pause.status_code == 200, pause.text

    listed = await client.get("/v1/clients", params={"limit": 2}, headers=owner.headers)
    assert listed.status_code == 200, listed.text
    following = await client.get(
        "/v1/clients",
        params={"limit": 2, "cursor": listed.json()["next_cursor"]},
        headers=owner.headers,
    )

    await scope_to_firm(db, owner.firm.id)
    rows = (
        await db.scalars(
            select(Client)
            .where(Client.firm_id == owner.firm.id)
            .order_by(Client.created_at.desc(), Client.id.desc())
        )
    ).all()
    first = Page[ClientRead](
        items=[ClientRead.model_validate(row) for row in rows[:2]],
        next_cursor=encode_cursor(rows[1].created_at, rows[1].id),
    )
    last = Page[ClientRead](items=[ClientRead.model_validate(rows[2])], next_cursor=None)
    assert listed.content == first.model_dump_json().encode()
    assert following.content == last.model_dump_json().encode()
