"""The audit trail: every mutation records who did what to which record, in the same
transaction as the change itself."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import BadRequest
from core.pagination import Page, PageParams, keyset, to_page
from core.principal import Principal
from models import AuditEvent
from services.repository import FirmScoped

AUDIT_EVENTS = FirmScoped(AuditEvent, "audit event")


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


async def record_changes(
    session: AsyncSession,
    principal: Principal,
    *,
    action: str,
    record_type: str,
    record_id: uuid.UUID | None,
    before: dict[str, Any],
    after: dict[str, Any],
    extra: dict[str, Any] | None = None,
    skip_unchanged: bool = False,
) -> None:
    """Record only the fields of a record's summary that differ between ``before`` and
    ``after`` (plus ``extra`` in the after side); with ``skip_unchanged``, nothing when
    no field changed."""
    changed = [name for name in after if after[name] != before.get(name)]
    if skip_unchanged and not changed:
        return
    await record(
        session,
        principal,
        action=action,
        record_type=record_type,
        record_id=record_id,
        before={name: before.get(name) for name in changed},
        after={**{name: after[name] for name in changed}, **(extra or {})},
    )


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


@dataclass(frozen=True)
class AuditFilters:
    """``record_id`` narrows ``record_type`` (an id alone is ambiguous across types);
    the time range includes ``since`` and excludes ``until``."""

    record_type: str | None = None
    record_id: uuid.UUID | None = None
    actor_id: uuid.UUID | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def __post_init__(self) -> None:
        if self.record_id is not None and self.record_type is None:
            raise BadRequest(
                "Filtering by record_id needs record_type too",
                errors=[{"parameter": "record_type", "in": "query", "detail": "required"}],
            )
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise BadRequest(
                "The time range is empty: 'from' must be before 'to'",
                errors=[{"parameter": "from", "in": "query", "detail": "must be before 'to'"}],
            )


def events_query(
    principal: Principal, filters: AuditFilters, page: PageParams
) -> Select[AuditEvent]:
    stmt = AUDIT_EVENTS.select(principal)
    if filters.record_type is not None:
        stmt = stmt.where(AuditEvent.record_type == filters.record_type)
    if filters.record_id is not None:
        stmt = stmt.where(AuditEvent.record_id == filters.record_id)
    if filters.actor_id is not None:
        stmt = stmt.where(AuditEvent.actor_id == filters.actor_id)
    if filters.action is not None:
        stmt = stmt.where(AuditEvent.action == filters.action)
    if filters.since is not None:
        stmt = stmt.where(AuditEvent.created_at >= filters.since)
    if filters.until is not None:
        stmt = stmt.where(AuditEvent.created_at < filters.until)
    return keyset(stmt, AuditEvent.created_at, AuditEvent.id, page)


async def list_events(
    session: AsyncSession, principal: Principal, *, filters: AuditFilters, page: PageParams
) -> Page[AuditEvent]:
    """Newest first."""
    rows = (await session.scalars(events_query(principal, filters, page))).all()
    return to_page(rows, page)
