"""Concurrent publishes and rollbacks of one automation, each in its own committed
transaction: the row lock serialises them, so version numbers never collide (a collision
would be a unique violation, a 500)."""

import asyncio
import json

from httpx import ASGITransport, AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.config import Settings
from core.db import tenant_session
from models import AutomationVersion
from tests.automations import BASE
from tests.factories import Actor
from tests.integration.automations.test_automations import definition


async def test_concurrent_publishes_and_rollbacks_number_versions_in_order(
    settings: Settings,
    committing_sessionmaker: async_sessionmaker[AsyncSession],
    committed_owner: Actor,
) -> None:
    from api.app import create_app

    app = create_app(settings, sessionmaker=committing_sessionmaker)
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    headers = committed_owner.headers
    async with AsyncClient(transport=transport, base_url="http://testserver") as http:
        created = await http.post(BASE, json={"name": "Race"}, headers=headers)
        url = f"{BASE}/{created.json()['id']}"
        await http.put(f"{url}/draft", content=json.dumps(definition()), headers=headers)
        publishes = await asyncio.gather(
            *(http.post(f"{url}/publish", headers=headers) for _ in range(4))
        )
        # One publish wins; the others then see the same draft already published.
        assert sorted(r.status_code for r in publishes) == [201, 409, 409, 409]

        await http.put(
            f"{url}/draft", content=json.dumps(definition("https://v2")), headers=headers
        )
        assert (await http.post(f"{url}/publish", headers=headers)).status_code == 201
        rollbacks = await asyncio.gather(
            *(http.post(f"{url}/versions/1/rollback", headers=headers) for _ in range(3))
        )
        assert sorted(r.status_code for r in rollbacks) == [201, 201, 201]
        assert sorted(r.json()["version"] for r in rollbacks) == [3, 4, 5]

    async with tenant_session(committed_owner.firm.id, committing_sessionmaker) as session:
        numbers = (
            await session.scalars(
                select(AutomationVersion.version).order_by(AutomationVersion.version)
            )
        ).all()
    assert numbers == [1, 2, 3, 4, 5]
