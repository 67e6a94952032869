"""The firms' HTTP allow-lists as a worker's ``http_request`` steps read them: each kept for
a few seconds, so a step on its first attempt needs no transaction before its request.

A change an admin makes (services/firm_settings.set_http_allowlist) reaches every step that
starts ``TTL_SECONDS`` after it commits; a step that reads its run's state first (a retry)
takes the list from that read and refreshes the entry. Bounded to ``MAX_FIRMS`` entries,
the least recently used going first.
"""

import time
import uuid
from collections import OrderedDict
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db import tenant_session
from models import Firm

TTL_SECONDS = 2.0
MAX_FIRMS = 10_000


class AllowlistCache:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        ttl: float = TTL_SECONDS,
        max_firms: int = MAX_FIRMS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._ttl = ttl
        self._max_firms = max_firms
        self._clock = clock
        self._entries: OrderedDict[uuid.UUID, tuple[float, list[str]]] = OrderedDict()

    async def get(self, firm_id: uuid.UUID) -> list[str]:
        entry = self._entries.get(firm_id)
        if entry is not None and self._clock() < entry[0]:
            self._entries.move_to_end(firm_id)
            return list(entry[1])
        async with tenant_session(firm_id, self._sessionmaker) as session:
            entries = await session.scalar(select(Firm.http_allowlist).where(Firm.id == firm_id))
        allowlist = list(entries or [])
        self.put(firm_id, allowlist)
        return allowlist

    def put(self, firm_id: uuid.UUID, allowlist: list[str]) -> None:
        """What a transaction just read of the firm's list, fresh for another TTL."""
        self._entries[firm_id] = (self._clock() + self._ttl, list(allowlist))
        self._entries.move_to_end(firm_id)
        while len(self._entries) > self._max_firms:
            self._entries.popitem(last=False)
