"""A PATCH applied the same way everywhere: diff the fields the request gave against the
row, set only those that differ, write them and record one audit row of exactly those fields
(before and after). The caller gets the change back: a record whose changes feed automations
emits its ``<record>.updated`` event itself, under its literal name, where the event
catalogue's check finds it. A patch that changes nothing writes and records nothing, so a
retried request is harmless."""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from core.principal import Principal
from services import audit


class Row(Protocol):
    @property
    def id(self) -> uuid.UUID: ...


R = TypeVar("R", bound=Row)


@dataclass(frozen=True)
class Patched:
    """What a patch changed: the new values, and each changed field's summary before and
    after (empty when nothing changed)."""

    changes: dict[str, Any] = field(default_factory=dict)
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)

    @property
    def event_changes(self) -> dict[str, dict[str, Any]]:
        """The ``changes`` member of an ``<record>.updated`` event."""
        return {
            name: {"before": self.before[name], "after": self.after[name]} for name in self.changes
        }


def changed_fields(row: object, patch: BaseModel) -> dict[str, Any]:
    """The fields ``patch`` gives whose value differs from the row's."""
    return {
        name: value
        for name, value in patch.model_dump(include=patch.model_fields_set).items()
        if getattr(row, name) != value
    }


async def apply_patch(
    session: AsyncSession,
    principal: Principal,
    row: R,
    patch: BaseModel,
    *,
    record_type: str,
    summarize: Callable[[R], dict[str, Any]],
    write: Callable[[], Awaitable[None]] | None = None,
    reload_all: bool = False,
) -> Patched:
    """Apply ``patch`` to ``row`` and record it as ``<record_type>.updated``; returns what
    changed.

    ``write`` flushes (default: a plain flush; pass one that turns a unique violation into
    a 409). Then what the database set is loaded before the summary is taken: ``updated_at``,
    or with ``reload_all`` every column (a numeric comes back in its column's scale)."""
    before = summarize(row)
    changes = changed_fields(row, patch)
    if not changes:
        return Patched()
    for name, value in changes.items():
        setattr(row, name, value)
    await (write() if write is not None else session.flush())
    await session.refresh(row, None if reload_all else ["updated_at"])
    after = summarize(row)
    patched = Patched(
        changes=changes,
        before={name: before[name] for name in changes},
        after={name: after[name] for name in changes},
    )
    await audit.record(
        session,
        principal,
        action=f"{record_type}.updated",
        record_type=record_type,
        record_id=row.id,
        before=patched.before,
        after=patched.after,
    )
    return patched
