"""The worker's cache of the firms' HTTP allow-lists: a change reaches the steps that start
once the entry is older than its TTL, an entry a transaction just read is fresh again, and
the cache holds at most its bound of firms."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.allowlist_cache import AllowlistCache
from core.db import tenant_session
from services.firm_settings import HttpAllowlist, set_http_allowlist
from tests.factories import Actor, make_firm, principal_of

Maker = async_sessionmaker[AsyncSession]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _firm(maker: Maker, entries: list[str]) -> uuid.UUID:
    async with maker() as session, session.begin():
        actor = await make_firm(session, "Allow-list Cache")
    await _set(maker, actor.firm.id, actor, entries)
    return actor.firm.id


async def _set(maker: Maker, firm_id: uuid.UUID, actor: Actor, entries: list[str]) -> None:
    async with tenant_session(firm_id, maker) as session:
        await set_http_allowlist(
            session,
            principal_of(actor),
            allowlist=HttpAllowlist(entries=entries),
        )


async def test_a_change_is_read_once_the_entry_is_older_than_its_ttl(
    committing_sessionmaker: Maker,
) -> None:
    maker = committing_sessionmaker
    async with maker() as session, session.begin():
        actor = await make_firm(session, "Allow-list Cache")
    firm_id = actor.firm.id
    await _set(maker, firm_id, actor, ["127.0.0.1"])
    clock = Clock()
    cache = AllowlistCache(maker, ttl=2.0, clock=clock)

    assert await cache.get(firm_id) == ["127.0.0.1"]
    await _set(maker, firm_id, actor, ["10.0.0.0/8"])
    clock.now += 1.9
    assert await cache.get(firm_id) == ["127.0.0.1"]
    clock.now += 0.2
    assert await cache.get(firm_id) == ["10.0.0.0/8"]

    cache.put(firm_id, ["crm.internal"])
    clock.now += 1.9
    assert await cache.get(firm_id) == ["crm.internal"]


async def test_the_cache_keeps_at_most_its_bound_of_firms(committing_sessionmaker: Maker) -> None:
    maker = committing_sessionmaker
    first = await _firm(maker, ["127.0.0.1"])
    cache = AllowlistCache(maker, max_firms=2)
    cache.put(first, ["stale.example"])
    cache.put(uuid.uuid4(), [])
    cache.put(uuid.uuid4(), [])

    # The least recently used entry went first: the firm's list is read again.
    assert await cache.get(first) == ["127.0.0.1"]
