"""Carrying out outbox messages: the fast path right after a commit, and the batches the
``outbox-relay`` workflow takes for whatever is left.

Rows are taken with ``FOR UPDATE SKIP LOCKED`` in a system session (purpose
``outbox_relay``), so the fast path and any number of relays never carry out the same row
at the same time. Carrying out a row twice (a crash between the Temporal call and the
commit that marks it) is harmless: workflow ids are deterministic, a running workflow is
reused (``USE_EXISTING``) and a closed one is never started again (``REJECT_DUPLICATE``).

The workflow kinds (start, signal, signal-with-start) are carried out here; the kinds that
are domain work (an ``event`` starts and wakes automation runs, a ``sync_schedule``
reconciles an automation's Temporal Schedule) go to the handler their domain registered
(``services.outbox.registry``), each in a transaction of the message's firm. This module
opens its transactions itself: it is what runs after the request's and the worker's units
of work commit, and the relay's batches take rows of every firm (a named system session).
"""

import asyncio
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.common import (
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from core.db import SystemPurpose, system_session, tenant_session
from core.metrics import record_workflow_start
from core.search_attributes import typed
from core.temporal import TASK_QUEUE, ClientProvider
from models import OutboxMessage
from services.outbox.kinds import MessageKind
from services.outbox.registry import handler_for
from services.outbox.writer import pop_outbox_ids, start_key
from workflows.processes import PROCESSES

log = logging.getLogger("firmflow.outbox")

# The fast path runs inside a request: never let a slow Temporal hold the response long.
FAST_PATH_TIMEOUT_SECONDS = 5.0
# What a domain handler's own fast path carries out right after its commit (it runs inside
# a relay pass); the relay carries out whatever is beyond it on its next pass.
HANDLER_FAST_PATH_LIMIT = 100
# The most messages of answered requests one pass of ``AfterAnswer`` carries out, and the
# most it keeps waiting for a pass: beyond that (Temporal slow or down under a burst) new
# ones are left to the relay rather than piling up in memory.
AFTER_ANSWER_BATCH = 100
AFTER_ANSWER_BACKLOG = 2000
_ERROR_MAX = 500


@dataclass(frozen=True)
class DispatchReport:
    picked: int
    dispatched: int
    failed: int


def search_attributes(message: OutboxMessage) -> TypedSearchAttributes:
    """What the workflow a start message starts is started with: the attributes the message
    carries or, for a message written before they were carried, those its input names."""
    payload = message.payload
    if "search_attributes" in payload:
        return typed(payload["search_attributes"])
    start = PROCESSES[payload["workflow"]].input.model_validate(payload["arg"])
    return start.search_attributes().typed()


async def _start_workflow(message: OutboxMessage, temporal: ClientProvider) -> None:
    payload = message.payload
    client = await temporal()
    try:
        await client.start_workflow(
            payload["workflow"],
            payload["arg"],
            id=payload["workflow_id"],
            task_queue=payload.get("task_queue", TASK_QUEUE),
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=search_attributes(message),
        )
    except WorkflowAlreadyStartedError:
        # It ran and closed already: this message was carried out before.
        return
    record_workflow_start(payload["workflow"])


class StartPending(RuntimeError):
    """The workflow a signal is for is still to be started by a pending outbox message."""


async def _start_pending(maker: async_sessionmaker[AsyncSession], workflow_id: str) -> bool:
    async with system_session(SystemPurpose.outbox_relay, maker) as session:
        pending = await session.scalar(
            select(
                exists().where(
                    OutboxMessage.dedupe_key == start_key(workflow_id),
                    OutboxMessage.dispatched_at.is_(None),
                )
            )
        )
    return bool(pending)


async def _signal_workflow(
    payload: dict[str, Any], temporal: ClientProvider, maker: async_sessionmaker[AsyncSession]
) -> None:
    client = await temporal()
    handle = client.get_workflow_handle(payload["workflow_id"])
    args = [payload["arg"]] if "arg" in payload else []
    try:
        await handle.signal(payload["signal"], *args)
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
        # Its start message has not gone out yet (Temporal was down when it was written,
        # say): the signal stays pending and goes after it, instead of being lost.
        if await _start_pending(maker, handle.id):
            raise StartPending(f"{handle.id} is not started yet; the signal waits for it") from exc
        # No running workflow to tell (finished, or never to be started): retrying cannot
        # help, and signals here only hurry along what the workflow would notice anyway.
        log.info("signal %s to %s dropped: no running workflow", payload["signal"], handle.id)


async def _signal_with_start(message: OutboxMessage, temporal: ClientProvider) -> None:
    payload = message.payload
    client = await temporal()
    await client.start_workflow(
        payload["workflow"],
        payload["arg"],
        id=payload["workflow_id"],
        task_queue=payload.get("task_queue", TASK_QUEUE),
        start_signal=payload["signal"],
        start_signal_args=[payload["signal_arg"]],
        search_attributes=search_attributes(message),
    )


async def _handle_in_firm(
    message: OutboxMessage,
    temporal: ClientProvider,
    maker: async_sessionmaker[AsyncSession],
) -> None:
    """A domain kind: its registered handler, in one transaction of the message's firm, so
    a handler that fails part-way leaves nothing and the relay tries the row again."""
    handler = handler_for(message.kind)
    async with tenant_session(message.firm_id, maker) as session:
        await handler(session, temporal, message)
        ids = pop_outbox_ids(session)
    await dispatch_after_commit(maker, temporal, ids[:HANDLER_FAST_PATH_LIMIT])


async def dispatch_message(
    message: OutboxMessage,
    temporal: ClientProvider,
    maker: async_sessionmaker[AsyncSession],
) -> None:
    if message.kind == MessageKind.start_workflow:
        await _start_workflow(message, temporal)
    elif message.kind == MessageKind.signal_workflow:
        await _signal_workflow(message.payload, temporal, maker)
    elif message.kind == MessageKind.signal_with_start:
        await _signal_with_start(message, temporal)
    else:
        await _handle_in_firm(message, temporal, maker)


async def dispatch_pending(
    maker: async_sessionmaker[AsyncSession],
    temporal: ClientProvider,
    *,
    limit: int,
    ids: Sequence[uuid.UUID] | None = None,
) -> DispatchReport:
    """Carry out up to ``limit`` pending messages (only ``ids`` when given), oldest and
    least-failed first; a failure is counted on the row and left for the next pass."""
    async with system_session(SystemPurpose.outbox_relay, maker) as session:
        query = select(OutboxMessage).where(OutboxMessage.dispatched_at.is_(None))
        if ids is not None:
            query = query.where(OutboxMessage.id.in_(ids))
        query = (
            query.order_by(OutboxMessage.attempts, OutboxMessage.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        messages = (await session.scalars(query)).all()
        done: list[uuid.UUID] = []
        for message in messages:
            try:
                await dispatch_message(message, temporal, maker)
            except Exception as exc:
                log.warning(
                    "outbox message %s (%s) not dispatched: %s", message.id, message.kind, exc
                )
                message.attempts += 1
                message.last_error = f"{type(exc).__name__}: {exc}"[:_ERROR_MAX]
            else:
                done.append(message.id)
        if done:
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(done))
                .values(dispatched_at=func.now(), last_error=None)
                .execution_options(synchronize_session=False)
            )
    return DispatchReport(
        picked=len(messages), dispatched=len(done), failed=len(messages) - len(done)
    )


async def dispatch_after_commit(
    maker: async_sessionmaker[AsyncSession],
    temporal: ClientProvider,
    ids: Sequence[uuid.UUID],
) -> None:
    """The fast path: carry out what a just-committed transaction enqueued. It never
    raises; whatever it could not do stays pending for the relay."""
    if not ids:
        return
    try:
        async with asyncio.timeout(FAST_PATH_TIMEOUT_SECONDS):
            await dispatch_pending(maker, temporal, limit=len(ids), ids=ids)
    except Exception:
        log.exception("outbox fast path failed for %d message(s); the relay will retry", len(ids))


class AfterAnswer:
    """The fast path of the endpoints that answer before it runs (webhook ingest): one pass
    at a time per process, and the messages of every request answered while a pass runs
    go out together in the next one (as a group commit does), in one transaction instead
    of one each. A burst of deliveries then costs a few dispatch transactions and holds one
    pooled connection, not one per request. What a pass cannot do stays for the relay."""

    def __init__(self, maker: async_sessionmaker[AsyncSession], temporal: ClientProvider) -> None:
        self._maker = maker
        self._temporal = temporal
        self._waiting: list[uuid.UUID] = []
        self._one_pass = asyncio.Lock()

    async def dispatch(self, ids: Sequence[uuid.UUID]) -> None:
        """Carry out ``ids``, or see them taken by the pass of a request that waited
        longer; returns when this request's turn is over (never raises)."""
        if len(self._waiting) >= AFTER_ANSWER_BACKLOG:
            log.warning(
                "outbox fast path has %d messages waiting; %d more are the relay's",
                len(self._waiting),
                len(ids),
            )
            return
        self._waiting.extend(ids)
        async with self._one_pass:
            batch = self._waiting[:AFTER_ANSWER_BATCH]
            del self._waiting[:AFTER_ANSWER_BATCH]
            await dispatch_after_commit(self._maker, self._temporal, batch)
