"""The transactional outbox: a side effect is written as a row in the same transaction as
the business change, dispatched right after commit (fast path) and by the relay for
whatever is left (slow path). ``dedupe_key`` is unique, so enqueueing twice is harmless."""

import uuid
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models import OutboxMessage

START_WORKFLOW = "start_workflow"
SIGNAL_WORKFLOW = "signal_workflow"
EVENT = "event"


async def enqueue(
    session: AsyncSession,
    firm_id: uuid.UUID,
    *,
    kind: str,
    dedupe_key: str,
    payload: dict[str, Any],
) -> uuid.UUID | None:
    """Add a message; returns its id, or None when ``dedupe_key`` was already enqueued."""
    message_id = uuid.uuid4()
    result = await session.execute(
        insert(OutboxMessage)
        .values(id=message_id, firm_id=firm_id, kind=kind, dedupe_key=dedupe_key, payload=payload)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(OutboxMessage.id)
    )
    inserted = result.scalar_one_or_none()
    if inserted is not None:
        session.info.setdefault("outbox_ids", []).append(inserted)
    return inserted
