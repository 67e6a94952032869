"""A PATCH applied the same way everywhere: diff the fields the request gave against the
row, set only those that differ, write them, record one audit row of exactly those fields
(before and after) and, for records whose changes feed automations, emit the
``<record>.updated`` event. A patch that changes nothing writes and records nothing, so a
retried request is harmless."""

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from core.principal import Principal
from pure import event_catalogue
from services import audit
from services.outbox import writer as outbox


class Row(Protocol):
    @property
    def id(self) -> uuid.UUID: ...


R = TypeVar("R", bound=Row)


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
    event_key: str | None = None,
) -> dict[str, Any]:
    """Apply ``patch`` to ``row`` and record it as ``<record_type>.updated``; returns the
    changed fields (empty when none).

    ``write`` flushes (default: a plain flush; pass one that turns a unique violation into
    a 409). Then what the database set is loaded before the summary is taken: ``updated_at``,
    or with ``reload_all`` every column (a numeric comes back in its column's scale). With
    ``event_key`` the
    ``<record_type>.updated`` event is emitted too, carrying the row id under that key,
    the changed field names and each one's before and after."""
    before = summarize(row)
    changes = changed_fields(row, patch)
    if not changes:
        return changes
    for name, value in changes.items():
        setattr(row, name, value)
    await (write() if write is not None else session.flush())
    await session.refresh(row, None if reload_all else ["updated_at"])
    after = summarize(row)
    action = f"{record_type}.updated"
    await audit.record(
        session,
        principal,
        action=action,
        record_type=record_type,
        record_id=row.id,
        before={name: before[name] for name in changes},
        after={name: after[name] for name in changes},
    )
    if event_key is not None:
        await outbox.enqueue_message(
            session,
            principal.firm_id,
            outbox.event(
                action,
                f"{action}:{row.id}:{uuid.uuid4()}",
                **{event_key: str(row.id)},
                fields=sorted(changes),
                changes={name: {"before": before[name], "after": after[name]} for name in changes},
                source=event_catalogue.run_source(principal.request_id),
            ),
        )
    return changes
