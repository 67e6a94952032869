"""Delivering a domain or custom event from the outbox: it starts the runs of the firm's
event-triggered automations whose filter holds, and it reaches the running runs that may
wait for it (``wait_for_event``).

An event row is ``{"event": name, **data}``; the firm is the row's. ``deliver`` is the
outbox handler of ``event`` messages: the dispatcher runs it in one tenant transaction of
that firm, so a delivery that fails part-way leaves nothing and the relay tries the row
again. A repeated delivery (the relay crashed after this committed
but before it marked the row) changes nothing: each started run carries the dedupe key
``event:<message id>`` and each signal message ``event:<message id>:<run id>``.

What an event trigger's ``filter`` sees, and what its runs get as ``trigger``::

    {"event": {"name": "client.updated", "key": "<client id>", "data": {...}}}   # filter
    {"event": "client.updated", "key": "<client id>", "data": {...}}              # trigger

A run started by an event that another run caused is one hop deeper than that run: an
emit_event step states its run's depth (``data.source.depth``), a domain event caused by a
run's action names the run (``data.source.run_id``). Runs deeper than
``contracts.MAX_EVENT_DEPTH`` are recorded as failed and never start, which cuts a chain
that loops back on itself.
"""

import logging
import uuid
from typing import Any

from pydantic import JsonValue
from sqlalchemy import and_, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import AppError
from core.principal import Principal
from core.temporal import ClientProvider
from models import (
    Automation,
    AutomationRun,
    AutomationStatus,
    AutomationVersion,
    OutboxMessage,
    RunStatus,
    RunTrigger,
)
from pure import event_catalogue
from pure.expressions import ExpressionError, evaluate
from services.automations import runs
from services.automations.repository import AUTOMATIONS, RUNS
from services.outbox import writer as outbox
from workflows.automation.definition.triggers import EventTrigger
from workflows.automation.run.contracts import EVENT_SIGNAL, RunEvent, workflow_id

log = logging.getLogger("firmflow.automations.events")


def event_key(name: str, data: dict[str, Any]) -> str | None:
    """The event's correlation key: its catalogue key field (``key`` for a custom event)."""
    value = data.get(event_catalogue.key_field(name))
    return None if value is None else str(value)


async def deliver(session: AsyncSession, _: ClientProvider, message: OutboxMessage) -> None:
    """Start the triggered runs and signal the waiting ones, once per event."""
    data = {field: value for field, value in message.payload.items() if field != "event"}
    name = str(message.payload["event"])
    key = event_key(name, data)
    # Waiting runs first: a run this very event starts must not receive it as well.
    await _signal_waiting(session, message, name, key, data)
    depth = await _depth(session, data)
    await _start_triggered(session, message, name, key, data, depth)


async def _depth(session: AsyncSession, data: dict[str, Any]) -> int:
    """How deep the runs this event starts are: one more than the run it came from, if any.
    An emit_event step states its run's depth; a domain event caused by a run's action
    (update_client, create_task) names only the run, whose depth is read here."""
    source = data.get("source")
    if not isinstance(source, dict):
        return 0
    depth = source.get("depth")
    if isinstance(depth, int) and not isinstance(depth, bool):
        return depth + 1
    try:
        run_id = uuid.UUID(str(source.get("run_id")))
    except ValueError:
        return 0
    found = await session.scalar(select(AutomationRun.depth).where(AutomationRun.id == run_id))
    return 0 if found is None else found + 1


async def _signal_waiting(
    session: AsyncSession,
    message: OutboxMessage,
    name: str,
    key: str | None,
    data: dict[str, Any],
) -> None:
    """One ``event`` signal per running run whose version waits for ``name``; the run
    itself matches the key (a wait's key may depend on its own data)."""
    waiting = await session.scalars(
        select(AutomationRun.id)
        .join(
            AutomationVersion,
            and_(
                AutomationVersion.automation_id == AutomationRun.automation_id,
                AutomationVersion.version == AutomationRun.version,
            ),
        )
        .where(
            RUNS.owned_by(message.firm_id),
            AutomationRun.status == RunStatus.running,
            AutomationVersion.wait_events.contains([name]),
        )
    )
    signal = RunEvent(event_id=f"outbox:{message.id}", name=name, key=key, payload=data)
    await outbox.enqueue_many(
        session,
        message.firm_id,
        [
            outbox.signal_workflow(
                workflow_id(run_id),
                EVENT_SIGNAL,
                dedupe_key=f"event:{message.id}:{run_id}",
                arg=signal,
            )
            for run_id in waiting
        ],
    )


async def _start_triggered(
    session: AsyncSession,
    message: OutboxMessage,
    name: str,
    key: str | None,
    data: dict[str, Any],
    depth: int,
) -> None:
    rows = await session.execute(
        select(Automation, AutomationVersion.definition)
        .join(
            AutomationVersion,
            and_(
                AutomationVersion.automation_id == Automation.id,
                AutomationVersion.version == Automation.latest_version,
            ),
        )
        .where(
            AUTOMATIONS.owned_by(message.firm_id),
            Automation.trigger_event == name,
            Automation.trigger_type == "event",
            Automation.status == AutomationStatus.active,
        )
        .order_by(Automation.created_at, Automation.id)
    )
    principal = Principal.system(message.firm_id, request_id=f"outbox:{message.id}")
    dedupe_key = f"event:{message.id}"
    payload: JsonValue = {"event": name, "key": key, "data": data}
    for automation, definition in rows:
        trigger = EventTrigger.model_validate(definition["trigger"])
        try:
            if trigger.filter is not None and not _holds(trigger.filter, name, key, data):
                continue
            await runs.start_run(
                session,
                principal,
                automation,
                payload=payload,
                trigger=RunTrigger.event,
                dedupe_key=dedupe_key,
                depth=depth,
            )
        except ExpressionError as exc:
            await _record_failed(
                session,
                automation,
                payload,
                dedupe_key,
                depth,
                f"the trigger's filter could not be evaluated: {exc.message}",
            )
        except AppError as exc:
            # Refused before anything was written (the payload over its limits, say): the
            # builder sees why on a failed run, and the other automations still start.
            await _record_failed(
                session, automation, payload, dedupe_key, depth, f"not started: {exc.detail}"
            )


def _holds(expression: str, name: str, key: str | None, data: dict[str, Any]) -> bool:
    return bool(evaluate(expression, {"event": {"name": name, "key": key, "data": data}}))


async def _record_failed(
    session: AsyncSession,
    automation: Automation,
    payload: JsonValue,
    dedupe_key: str,
    depth: int,
    reason: str,
) -> None:
    """A run that never started, so the builder sees on the automation's runs why the
    event did not start one; the dedupe key keeps a redelivery from adding another."""
    log.info("event run of automation %s not started: %s", automation.id, reason)
    await session.execute(
        insert(AutomationRun)
        .values(
            id=uuid.uuid4(),
            firm_id=automation.firm_id,
            automation_id=automation.id,
            version=automation.latest_version,
            status=RunStatus.failed,
            trigger=RunTrigger.event,
            trigger_payload=payload,
            dedupe_key=dedupe_key,
            depth=depth,
            error={"step": None, "message": reason},
            finished_at=func.clock_timestamp(),
        )
        .on_conflict_do_nothing(index_elements=["automation_id", "dedupe_key"])
    )
