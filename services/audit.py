"""The audit trail: every mutation records who did what to which record, in the same
transaction as the change itself."""

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.principal import Principal
from models import AuditEvent


def _summary(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    if before is not None:
        summary["before"] = before
    if after is not None:
        summary["after"] = after
    return summary


async def record(
    session: AsyncSession,
    principal: Principal,
    *,
    action: str,
    record_type: str,
    record_id: uuid.UUID | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditEvent(
            firm_id=principal.firm_id,
            actor_type=principal.actor_type,
            actor_id=principal.actor_id,
            action=action,
            record_type=record_type,
            record_id=record_id,
            summary=_summary(before, after),
            request_id=principal.request_id,
        )
    )
    await session.flush()


async def record_many(
    session: AsyncSession,
    principal: Principal,
    *,
    action: str,
    record_type: str,
    afters: Sequence[tuple[uuid.UUID, dict[str, Any]]],
) -> None:
    """One event per ``(record_id, after)`` pair, written in a single statement (bulk
    creations such as a client import)."""
    if not afters:
        return
    await session.execute(
        insert(AuditEvent),
        [
            {
                "id": uuid.uuid4(),
                "firm_id": principal.firm_id,
                "actor_type": principal.actor_type,
                "actor_id": principal.actor_id,
                "action": action,
                "record_type": record_type,
                "record_id": record_id,
                "summary": _summary(None, after),
                "request_id": principal.request_id,
            }
            for record_id, after in afters
        ],
    )
