"""The worker's unit of work: what an activity opens around the service calls of one step.

``firm_transaction`` is the worker's twin of the request's session dependency
(api/deps.py): one transaction that sees only the firm's rows (row-level security),
committed when the block ends and rolled back when it raises; only after the commit does
it carry out, at once, what the transaction queued in the outbox. Services inside take the
session, flush and return; they never commit.

Without a Temporal client the queued messages wait for the outbox relay.
"""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db import tenant_session
from core.temporal import ClientProvider
from services.outbox.dispatch import dispatch_after_commit
from services.outbox.writer import pop_outbox_ids


@asynccontextmanager
async def firm_transaction(
    sessionmaker: async_sessionmaker[AsyncSession],
    firm_id: uuid.UUID,
    temporal: ClientProvider | None = None,
) -> AsyncIterator[AsyncSession]:
    async with tenant_session(firm_id, sessionmaker) as session:
        yield session
        queued = pop_outbox_ids(session)
    if temporal is not None:
        await dispatch_after_commit(sessionmaker, temporal, queued)
