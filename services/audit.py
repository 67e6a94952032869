"""The audit trail: every mutation records who did what to which record, in the same
transaction as the change itself."""

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.principal import Principal
from models import AuditEvent


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
    summary: dict[str, Any] = {}
    if before is not None:
        summary["before"] = before
    if after is not None:
        summary["after"] = after
    session.add(
        AuditEvent(
            firm_id=principal.firm_id,
            actor_type=principal.actor_type,
            actor_id=principal.actor_id,
            action=action,
            record_type=record_type,
            record_id=record_id,
            summary=summary,
            request_id=principal.request_id,
        )
    )
    await session.flush()
