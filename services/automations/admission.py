"""Flow control of automation runs: the concurrency limit (queue or skip, per key) and
debounce. ``admit`` decides, in the starting transaction, what becomes of a new run;
``release`` runs in the transaction that ends a run and admits the next queued one."""

import uuid
from dataclasses import dataclass

from pydantic import JsonValue
from sqlalchemy.ext.asyncio import AsyncSession

from models import Automation, RunStatus, RunTrigger
from workflows.automation.definition import Definition


@dataclass(frozen=True)
class Admission:
    status: RunStatus
    concurrency_key: str | None = None
    # Why a run was queued, skipped or failed (shown as its error).
    reason: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in (RunStatus.skipped, RunStatus.failed)


async def admit(
    session: AsyncSession,
    automation: Automation,
    definition: Definition,
    *,
    run_id: uuid.UUID,
    payload: JsonValue,
    trigger: RunTrigger,
) -> Admission:
    return Admission(status=RunStatus.running)


async def release(session: AsyncSession, run_id: uuid.UUID) -> None:
    """Called in the transaction that ends run ``run_id`` (finished, failed or canceled):
    admits the next queued run its slot frees, if any."""
