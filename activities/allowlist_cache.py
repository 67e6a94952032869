"""The firms' HTTP allow-lists as the worker's ``http_request`` steps read them: each kept
for a few seconds, so a step on its first attempt needs no transaction before its request.
Worker state, so it lives beside the activities that use it and opens their unit of work
on a miss; the read itself is services.firm_settings.http_allowlist_of.

A change an admin makes (services/firm_settings.set_http_allowlist) reaches every step that
starts ``TTL_SECONDS`` after it commits; a step that reads its run's state first (a retry)
takes the list from that read and refreshes the entry. Bounded to ``MAX_FIRMS`` entries,
the least recently used going first.
"""

import time
import uuid
from collections import OrderedDict
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from activities.unit_of_work import firm_transaction
from services.firm_settings import http_allowlist_of

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
        async with firm_transaction(self._sessionmaker, firm_id) as session:
            allowlist = await http_allowlist_of(session, firm_id)
        self.put(firm_id, allowlist)
        return allowlist

    def put(self, firm_id: uuid.UUID, allowlist: list[str]) -> None:
        """What a transaction just read of the firm's list, fresh for another TTL."""
        self._entries[firm_id] = (self._clock() + self._ttl, list(allowlist))
        self._entries.move_to_end(firm_id)
        while len(self._entries) > self._max_firms:
            self._entries.popitem(last=False)
