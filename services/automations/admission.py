"""Flow control of automation runs: the concurrency limit (queue or skip, per key) and
debounce. ``admit`` decides, in the starting transaction, what becomes of a new run;
``release`` runs in the transaction that ends a run and admits the next queued one;
``settle_debounce`` lets the last run of a closed debounce window go on.

Locking: every decision that counts slots holds the automation row ``FOR NO KEY UPDATE``
(which, unlike ``FOR UPDATE``, does not block inserting runs that reference it), so the
starts and ends of one automation with a concurrency limit are admitted one at a time: its
starts serialize on that row for the rest of their transaction. A transaction that already
holds a run row (``finish_run``, cancel) takes the automation row after it; queued rows are
then taken with ``SKIP LOCKED``, so nothing waits in the opposite order. A queued run that
is being canceled at that moment is passed over (it is ending anyway).
"""

import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import JsonValue
from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    Automation,
    AutomationRun,
    AutomationVersion,
    RunStatus,
    RunTrigger,
)
from pure.expressions import ExpressionError, evaluate
from services.automations import run_start
from services.outbox.writer import enqueue_message, signal_with_start
from workflows.automation.debounce import contracts as debounce
from workflows.automation.debounce.contracts import DebounceInput, DebounceSettled, DebounceTrigger
from workflows.automation.definition import Definition

DEBOUNCE_REASON = "waiting for the debounce window to close"
SUPERSEDED_REASON = "superseded by a later trigger within the debounce window"
# The column's width: a longer key is refused rather than cut (two keys would merge).
MAX_KEY_LENGTH = 200
# Runs admitted by one release at most; a later release admits the rest.
MAX_ADMITTED = 100
# A retry or resume repeats a run someone chose to repeat; the last run of a window has
# been debounced already.
_NOT_DEBOUNCED = frozenset({RunTrigger.retry, RunTrigger.resume, RunTrigger.debounce})


@dataclass(frozen=True)
class Admission:
    status: RunStatus
    concurrency_key: str | None = None
    # Why a run was queued, skipped or failed (shown as its error).
    reason: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in (RunStatus.skipped, RunStatus.failed)


class _KeyError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _key(expression: str, payload: JsonValue, what: str) -> str:
    """The key's value as text: a string as it is, anything else as its JSON text (so 7
    and "7" share a key, as a switch's cases do)."""
    try:
        value = evaluate(expression, {"trigger": payload})
    except ExpressionError as exc:
        raise _KeyError(f"the {what} key could not be evaluated: {exc.message}") from None
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    if len(text) > MAX_KEY_LENGTH:
        raise _KeyError(f"the {what} key is longer than {MAX_KEY_LENGTH} characters")
    return text


async def _lock(session: AsyncSession, automation_id: uuid.UUID) -> Automation | None:
    return await session.scalar(
        select(Automation).where(Automation.id == automation_id).with_for_update(key_share=True)
    )


def _same_key(key: str | None) -> ColumnElement[bool]:
    # Spelled per case so ix_automation_runs_active_slots serves both.
    if key is None:
        return AutomationRun.concurrency_key.is_(None)
    return AutomationRun.concurrency_key == key


def _debouncing() -> ColumnElement[bool]:
    return and_(
        AutomationRun.status == RunStatus.queued,
        AutomationRun.error["message"].astext == DEBOUNCE_REASON,
    )


def _waiting_for_slot() -> ColumnElement[bool]:
    return and_(
        AutomationRun.status == RunStatus.queued,
        AutomationRun.error["message"].astext.is_distinct_from(DEBOUNCE_REASON),
    )


async def _slots(
    session: AsyncSession, automation_id: uuid.UUID, key: str | None
) -> tuple[int, int]:
    """Runs of this automation and key holding a slot, and runs queued for one."""
    row = (
        await session.execute(
            select(
                func.count().filter(AutomationRun.status == RunStatus.running),
                func.count().filter(_waiting_for_slot()),
            ).where(
                AutomationRun.automation_id == automation_id,
                _same_key(key),
                AutomationRun.status.in_([RunStatus.queued, RunStatus.running]),
            )
        )
    ).one()
    return int(row[0]), int(row[1])


async def admit(
    session: AsyncSession,
    automation: Automation,
    definition: Definition,
    *,
    run_id: uuid.UUID,
    payload: JsonValue,
    trigger: RunTrigger,
) -> Admission:
    """What becomes of a new run of ``definition`` (its pinned version): debounced (queued
    until its window closes), running, queued for a slot, skipped, or failed when a key
    expression fails. A queued run never jumps ahead of older queued runs of its key."""
    try:
        if definition.debounce is not None and trigger not in _NOT_DEBOUNCED:
            key = definition.debounce.key
            text = None if key is None else _key(key, payload, "debounce")
            await _enqueue_debounce(session, automation, run_id, text, definition.debounce.window)
            return Admission(status=RunStatus.queued, reason=DEBOUNCE_REASON)
        limit = definition.concurrency
        if limit is None:
            return Admission(status=RunStatus.running)
        concurrency_key = None if limit.key is None else _key(limit.key, payload, "concurrency")
    except _KeyError as exc:
        return Admission(status=RunStatus.failed, reason=exc.reason)
    await _lock(session, automation.id)
    running, waiting = await _slots(session, automation.id, concurrency_key)
    if waiting and running < limit.max_runs:
        # Runs left waiting beside a free slot (a release passed over one being canceled,
        # and that cancel rolled back) go first.
        await _admit_waiting(session, automation.id, concurrency_key)
        running, waiting = await _slots(session, automation.id, concurrency_key)
    if running < limit.max_runs and waiting == 0:
        return Admission(status=RunStatus.running, concurrency_key=concurrency_key)
    if limit.when_full == "skip":
        return Admission(
            status=RunStatus.skipped,
            concurrency_key=concurrency_key,
            reason=f"skipped: {running} runs already running (limit {limit.max_runs})",
        )
    return Admission(
        status=RunStatus.queued,
        concurrency_key=concurrency_key,
        reason=f"waiting for a free slot ({running} running)",
    )


async def _enqueue_debounce(
    session: AsyncSession,
    automation: Automation,
    run_id: uuid.UUID,
    key: str | None,
    window: float,
) -> None:
    key_hash = None if key is None else hashlib.sha256(key.encode()).hexdigest()[:16]
    message = signal_with_start(
        debounce.WORKFLOW_NAME,
        debounce.workflow_id(automation.id, key_hash),
        DebounceInput(firm_id=automation.firm_id, automation_id=automation.id, window=window),
        signal=debounce.TRIGGER_SIGNAL,
        signal_arg=DebounceTrigger(run_id=run_id, window=window),
        dedupe_key=f"debounce:{run_id}",
    )
    await enqueue_message(session, automation.firm_id, message)


async def _definitions(
    session: AsyncSession, automation_id: uuid.UUID, versions: set[int]
) -> dict[int, dict[str, Any]]:
    rows = await session.execute(
        select(AutomationVersion.version, AutomationVersion.definition).where(
            AutomationVersion.automation_id == automation_id,
            AutomationVersion.version.in_(versions),
        )
    )
    return {version: definition for version, definition in rows}


async def _start(session: AsyncSession, run: AutomationRun, definition: dict[str, Any]) -> None:
    run.status = RunStatus.running
    run.error = None
    run.started_at = func.clock_timestamp()
    await session.flush()
    await session.refresh(run, ["started_at"])
    # A queued resume: what it reuses travels only in the start message, so it is read
    # again from its source run now.
    reuse = None
    if run.trigger == RunTrigger.resume and run.source_run_id is not None:
        reuse = await run_start.reused_steps(session, run.firm_id, run.source_run_id)
    await run_start.enqueue_start(session, run, definition, reuse=reuse)


async def release(session: AsyncSession, run_id: uuid.UUID) -> None:
    """Called in the transaction that ends run ``run_id`` (finished, failed or canceled):
    admits the oldest runs queued for a slot of its key while slots are free, each under
    the limit of its own version. Each admitted run gets its start message here."""
    # The run's key and the automation's lock in one round trip: every run's end pays it.
    row = (
        await session.execute(
            select(AutomationRun.automation_id, AutomationRun.concurrency_key)
            .join(Automation, Automation.id == AutomationRun.automation_id)
            .where(AutomationRun.id == run_id)
            .with_for_update(of=Automation, key_share=True)
        )
    ).one_or_none()
    if row is None:
        return
    automation_id, key = row
    await _admit_waiting(session, automation_id, key)


async def _admit_waiting(session: AsyncSession, automation_id: uuid.UUID, key: str | None) -> None:
    """Starts the oldest runs queued for a slot of ``key`` while slots are free (the
    caller holds the automation's lock)."""
    queued = list(
        await session.scalars(
            select(AutomationRun)
            .where(
                AutomationRun.automation_id == automation_id,
                _same_key(key),
                _waiting_for_slot(),
            )
            .order_by(AutomationRun.created_at, AutomationRun.id)
            .limit(MAX_ADMITTED)
            .with_for_update(skip_locked=True)
        )
    )
    if not queued:
        return
    running, _ = await _slots(session, automation_id, key)
    definitions = await _definitions(session, automation_id, {run.version for run in queued})
    for run in queued:
        definition = definitions[run.version]
        limit = Definition.model_validate(definition).concurrency
        if limit is not None and running >= limit.max_runs:
            # First come, first served: a later run never overtakes a waiting one.
            return
        await _start(session, run, definition)
        running += 1


async def settle_debounce(
    session: AsyncSession, automation_id: uuid.UUID, run_ids: list[uuid.UUID]
) -> DebounceSettled:
    """The window of ``run_ids`` closed: the newest of them still waiting goes through the
    concurrency limit (running, queued or skipped); the others are skipped as superseded.
    Runs no longer waiting (settled before, or canceled) are left alone, so a repeated
    call changes nothing."""
    automation = await _lock(session, automation_id)
    if automation is None:
        return DebounceSettled()
    waiting = list(
        await session.scalars(
            select(AutomationRun)
            .where(
                AutomationRun.automation_id == automation_id,
                AutomationRun.id.in_(run_ids),
                _debouncing(),
            )
            .order_by(AutomationRun.created_at, AutomationRun.id)
            .with_for_update(skip_locked=True)
        )
    )
    if not waiting:
        return DebounceSettled()
    *superseded, last = waiting
    for run in superseded:
        run.status = RunStatus.skipped
        run.error = {"step": None, "message": SUPERSEDED_REASON}
        run.finished_at = func.clock_timestamp()
    definition = (await _definitions(session, automation_id, {last.version}))[last.version]
    decision = await admit(
        session,
        automation,
        Definition.model_validate(definition),
        run_id=last.id,
        payload=last.trigger_payload,
        trigger=RunTrigger.debounce,
    )
    last.concurrency_key = decision.concurrency_key
    if decision.status == RunStatus.running:
        await _start(session, last, definition)
    else:
        last.status = decision.status
        last.error = None if decision.reason is None else {"step": None, "message": decision.reason}
        if decision.finished:
            last.finished_at = func.clock_timestamp()
        await session.flush()
    return DebounceSettled(run_id=last.id, status=decision.status, superseded=len(superseded))
