"""The Temporal Schedule of an automation with a schedule trigger, kept in sync with it.

Every change that can affect the schedule (publish, rollback, activate, pause, archive,
delete) calls ``request_sync`` in its own transaction; the outbox carries the request out
after commit by ``sync``, which reads the automation as it is then and makes Temporal
match. Because ``sync`` converges on the current state rather than replaying changes,
requests carried out late, twice or out of order all end in the same schedule.
"""

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import outbox
from core.temporal import ClientProvider
from models import Automation


def schedule_id(automation_id: uuid.UUID) -> str:
    return f"automation-schedule-{automation_id}"


async def request_sync(session: AsyncSession, automation: Automation) -> None:
    """Ask for the automation's schedule to be brought in line once this transaction
    commits (nothing happens for a rolled-back change)."""
    await outbox.enqueue(
        session,
        automation.firm_id,
        kind=outbox.SYNC_SCHEDULE,
        dedupe_key=f"schedule-sync:{automation.id}:{uuid.uuid4()}",
        payload={"automation_id": str(automation.id)},
    )


async def sync(
    maker: async_sessionmaker[AsyncSession],
    temporal: ClientProvider,
    firm_id: uuid.UUID,
    payload: dict[str, Any],
) -> None:
    """Make the schedule match the automation (create, update, pause, unpause, delete)."""
