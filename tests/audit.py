"""What a firm's audit trail holds, oldest first, for tests to compare with what happened."""

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import scope_to_firm
from models import AuditEvent


async def audit_events(
    db: AsyncSession,
    firm_id: uuid.UUID,
    *,
    record_type: str | None = None,
    record_id: uuid.UUID | str | None = None,
    action_prefix: str | None = None,
) -> list[AuditEvent]:
    """The firm's audit events, narrowed to one kind of record, one record (an id as the
    API returns it, or a UUID) or one family of actions when given."""
    await scope_to_firm(db, firm_id)
    statement = select(AuditEvent).where(AuditEvent.firm_id == firm_id)
    if record_type is not None:
        statement = statement.where(AuditEvent.record_type == record_type)
    if record_id is not None:
        statement = statement.where(AuditEvent.record_id == uuid.UUID(str(record_id)))
    if action_prefix is not None:
        statement = statement.where(AuditEvent.action.startswith(action_prefix, autoescape=True))
    rows = await db.scalars(statement.order_by(AuditEvent.created_at, AuditEvent.id))
    return list(rows.all())


async def audit_actions(
    db: AsyncSession,
    firm_id: uuid.UUID,
    *,
    record_type: str | None = None,
    record_id: uuid.UUID | str | None = None,
) -> list[str]:
    """The actions of :func:`audit_events`, which is what most tests compare."""
    events = await audit_events(db, firm_id, record_type=record_type, record_id=record_id)
    return [event.action for event in events]
