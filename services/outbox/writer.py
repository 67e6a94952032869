"""Writing outbox messages: a side effect is written as a row in the same transaction as
the business change, dispatched right after commit (fast path) and by the relay for
whatever is left (slow path). ``dedupe_key`` is unique, so enqueueing twice is harmless.

Payload contract per kind (services/outbox/dispatch.py carries them out):

- ``start_workflow``: ``{"workflow": type name, "workflow_id": deterministic id,
  "task_queue": queue, "arg": the input model as JSON, "search_attributes": {name: value}}``;
  the attributes come from the input (``ProcessInput.search_attributes``: firm, process,
  business key), so no start can leave them out. Messages written before they were carried
  have none; dispatch derives them from the input then.
- ``signal_workflow``: ``{"workflow_id", "signal", "arg"}`` (``arg`` optional)
- ``signal_with_start``: ``{"workflow", "workflow_id", "task_queue", "arg", "signal",
  "signal_arg", "search_attributes"}``: signal the workflow, starting it first when none
  runs under that id (debounce)
- ``event``: ``{"event": "client.created", ...}``: a domain event, delivered to the event
  triggers and waiting runs of its firm (handler: services.automations.event_delivery)
- ``sync_schedule``: ``{"automation_id"}``: make the automation's Temporal Schedule match
  its current state (handler: services.automations.schedules)
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy import CTE, String, Uuid, bindparam, select
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.search_attributes import ProcessInput
from core.temporal import TASK_QUEUE
from models import OutboxMessage
from services.outbox.kinds import MessageKind
from services.repository import FirmScoped

# A firm's own messages; the dispatcher and the relay cross firms and do not use it.
MESSAGES = FirmScoped(OutboxMessage, "outbox message")

SESSION_KEY = "outbox_ids"
# Keeps one multi-row INSERT well under Postgres's 65,535 bind parameters.
_INSERT_CHUNK = 1000


@dataclass(frozen=True)
class NewMessage:
    kind: MessageKind
    dedupe_key: str
    payload: dict[str, Any]


def _remember(session: AsyncSession, ids: Sequence[uuid.UUID]) -> None:
    """Ids the fast path dispatches once this session's transaction commits."""
    session.info.setdefault(SESSION_KEY, []).extend(ids)


def remember(session: AsyncSession, message_id: uuid.UUID | None) -> None:
    """What ``following`` wrote (its id, or None when nothing was), for the fast path."""
    if message_id is not None:
        _remember(session, [message_id])


def pop_outbox_ids(session: AsyncSession) -> list[uuid.UUID]:
    """The ids this session enqueued since the last call, for the fast path after commit."""
    ids: list[uuid.UUID] = session.info.pop(SESSION_KEY, [])
    return ids


async def enqueue(
    session: AsyncSession,
    firm_id: uuid.UUID,
    *,
    kind: MessageKind,
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
        _remember(session, [inserted])
    return inserted


async def enqueue_many(
    session: AsyncSession, firm_id: uuid.UUID, messages: Sequence[NewMessage]
) -> list[uuid.UUID]:
    """Add many messages in a few statements; returns the ids of those not already queued."""
    inserted: list[uuid.UUID] = []
    for start in range(0, len(messages), _INSERT_CHUNK):
        chunk = messages[start : start + _INSERT_CHUNK]
        result = await session.execute(
            insert(OutboxMessage)
            .values(
                [
                    {
                        "id": uuid.uuid4(),
                        "firm_id": firm_id,
                        "kind": m.kind,
                        "dedupe_key": m.dedupe_key,
                        "payload": m.payload,
                    }
                    for m in chunk
                ]
            )
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(OutboxMessage.id)
        )
        inserted.extend(result.scalars())
    _remember(session, inserted)
    return inserted


def following(rows: CTE) -> CTE:
    """A message written by the same statement as the business row it follows, when (and
    only when) ``rows`` — a data-modifying CTE of that statement, such as an
    ``INSERT … ON CONFLICT DO NOTHING RETURNING`` — yields a row: one round trip for both.
    Its values are bound parameters (``following_values``), so the statement is built and
    compiled once; select its ``id`` in the statement and give it to ``remember``."""
    values = select(
        bindparam("message_id", type_=Uuid()),
        bindparam("message_firm_id", type_=Uuid()),
        bindparam("message_kind", type_=String()),
        bindparam("message_dedupe_key", type_=String()),
        bindparam("message_payload", type_=JSONB()),
    ).select_from(rows)
    return (
        insert(OutboxMessage)
        .from_select(["id", "firm_id", "kind", "dedupe_key", "payload"], values)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(OutboxMessage.id)
        .cte(f"{rows.name}_message")
    )


def following_values(firm_id: uuid.UUID, message: NewMessage) -> dict[str, Any]:
    """The parameters of a statement ``following`` built, for ``message``."""
    return {
        "message_id": uuid.uuid4(),
        "message_firm_id": firm_id,
        "message_kind": str(message.kind),
        "message_dedupe_key": message.dedupe_key,
        "message_payload": message.payload,
    }


def start_key(workflow_id: str) -> str:
    """The dedupe key of the message that starts the workflow ``workflow_id``."""
    return f"start:{workflow_id}"


def start_workflow(
    workflow: str, workflow_id: str, arg: ProcessInput, *, task_queue: str = TASK_QUEUE
) -> NewMessage:
    """A message that starts ``workflow`` once; the workflow id doubles as the dedupe key."""
    return NewMessage(
        kind=MessageKind.start_workflow,
        dedupe_key=start_key(workflow_id),
        payload={
            "workflow": workflow,
            "workflow_id": workflow_id,
            "task_queue": task_queue,
            "arg": arg.model_dump(mode="json"),
            "search_attributes": arg.search_attributes().values(),
        },
    )


def signal_with_start(
    workflow: str,
    workflow_id: str,
    arg: ProcessInput,
    *,
    signal: str,
    signal_arg: BaseModel,
    dedupe_key: str,
    task_queue: str = TASK_QUEUE,
) -> NewMessage:
    return NewMessage(
        kind=MessageKind.signal_with_start,
        dedupe_key=dedupe_key,
        payload={
            "workflow": workflow,
            "workflow_id": workflow_id,
            "task_queue": task_queue,
            "arg": arg.model_dump(mode="json"),
            "signal": signal,
            "signal_arg": signal_arg.model_dump(mode="json"),
            "search_attributes": arg.search_attributes().values(),
        },
    )


def signal_workflow(
    workflow_id: str, signal: str, *, dedupe_key: str, arg: BaseModel | None = None
) -> NewMessage:
    """A message that signals the workflow ``workflow_id`` (with ``arg`` when given)."""
    payload: dict[str, Any] = {"workflow_id": workflow_id, "signal": signal}
    if arg is not None:
        payload["arg"] = arg.model_dump(mode="json")
    return NewMessage(kind=MessageKind.signal_workflow, dedupe_key=dedupe_key, payload=payload)


def event(name: str, dedupe_key: str, **data: Any) -> NewMessage:
    payload = {"event": name, **data}
    return NewMessage(kind=MessageKind.event, dedupe_key=dedupe_key, payload=payload)


async def enqueue_message(
    session: AsyncSession, firm_id: uuid.UUID, message: NewMessage
) -> uuid.UUID | None:
    return await enqueue(
        session,
        firm_id,
        kind=message.kind,
        dedupe_key=message.dedupe_key,
        payload=message.payload,
    )
