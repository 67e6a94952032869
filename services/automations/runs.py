"""Automation runs: starting one (by hand, from a webhook, as a retry or a resume), the
list, one run with its steps and live view, and cancelling.

A run row and the outbox message that starts its workflow are written in one transaction,
so a run exists exactly when its workflow will start (workflows/automation/run/contracts.py).
Every start, cancel, retry and resume is an audit event.
"""

import asyncio
import json
import logging
import math
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import JsonValue
from sqlalchemy import Select, and_, func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from core.errors import (
    AppError,
    BadRequest,
    Conflict,
    PayloadTooLarge,
    Unprocessable,
)
from core.pagination import Page, PageParams, keyset, to_page
from core.principal import Principal
from core.temporal import ClientProvider
from models import (
    Automation,
    AutomationRun,
    AutomationRunStep,
    AutomationStatus,
    AutomationVersion,
    RunStatus,
    RunTrigger,
)
from services import audit
from services.automations import admission, run_start
from services.automations.automations import get_automation, get_version
from services.automations.repository import RUN_STEPS, RUNS, VERSIONS
from workflows.automation.definition import Definition
from workflows.automation.run.contracts import MAX_EVENT_DEPTH, ReusedStep, RunView, workflow_id

log = logging.getLogger("firmflow.automations.runs")

# The trigger payload travels in the run row, the outbox and the workflow's history: the
# same cap as a step output keeps every one of them small.
MAX_PAYLOAD_BYTES = 256 * 1024
MAX_PAYLOAD_DEPTH = 64
# A run's step rows shown with it; a loop may visit steps many times, so the list is capped.
MAX_STEPS = 1000
# The progress query waits on a worker; a busy or absent one must not hold the request.
LIVE_QUERY_SECONDS = 3.0
NOT_STARTED = "not started: the run was canceled before its workflow was started"

RetryVersion = Literal["original", "latest"]

_AUDIT_ACTIONS = {
    RunTrigger.manual: "automation_run.started",
    RunTrigger.webhook: "automation_run.started",
    RunTrigger.retry: "automation_run.retried",
    RunTrigger.resume: "automation_run.resumed",
    RunTrigger.schedule: "automation_run.started",
    RunTrigger.event: "automation_run.started",
    RunTrigger.call: "automation_run.started",
    RunTrigger.debounce: "automation_run.started",
}


class TemporalUnavailable(AppError):
    status = 503
    title = "Service unavailable"
    slug = "service-unavailable"


def _invalid_payload(detail: str) -> Unprocessable:
    return Unprocessable(
        f"The trigger payload {detail}", errors=[{"pointer": "/payload", "detail": detail}]
    )


def check_payload(payload: JsonValue) -> None:
    """A trigger payload is storable and bounded: no NUL character or lone surrogate (JSONB
    stores neither), no NaN or infinity (not JSON), at most ``MAX_PAYLOAD_DEPTH`` levels
    (the run walks it recursively) and at most ``MAX_PAYLOAD_BYTES`` as JSON (413). The
    walk is iterative, so any depth is refused without recursing."""
    stack: list[tuple[Any, int]] = [(payload, 1)]
    while stack:
        value, depth = stack.pop()
        # Objects and arrays count as levels; the scalars inside the deepest one do not.
        if isinstance(value, dict | list) and depth > MAX_PAYLOAD_DEPTH:
            raise _invalid_payload(f"nests more than {MAX_PAYLOAD_DEPTH} levels deep")
        texts: list[str] = []
        if isinstance(value, dict):
            texts = list(value)
            stack.extend((child, depth + 1) for child in value.values())
        elif isinstance(value, list):
            stack.extend((child, depth + 1) for child in value)
        elif isinstance(value, str):
            texts = [value]
        elif isinstance(value, float) and not math.isfinite(value):
            raise _invalid_payload("holds NaN or an infinite number, which JSON cannot carry")
        for text in texts:
            if "\x00" in text or not _encodable(text):
                raise _invalid_payload("holds a NUL character or a lone surrogate")
    size = len(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode())
    if size > MAX_PAYLOAD_BYTES:
        raise PayloadTooLarge(
            f"The trigger payload takes {size} bytes as JSON; at most {MAX_PAYLOAD_BYTES} "
            "are allowed",
            errors=[{"pointer": "/payload", "detail": f"{size} bytes > {MAX_PAYLOAD_BYTES}"}],
        )


def _encodable(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _runnable_version(automation: Automation, version: int | None) -> int:
    if automation.latest_version is None:
        raise Conflict("This automation has no published version; publish and activate it first")
    if automation.status != AutomationStatus.active:
        raise Conflict(f"This automation is {automation.status}; only an active automation runs")
    return automation.latest_version if version is None else version


def _summary(run: AutomationRun) -> dict[str, Any]:
    return {
        "automation_id": str(run.automation_id),
        "version": run.version,
        "status": str(run.status),
        "trigger": str(run.trigger),
        "source_run_id": str(run.source_run_id) if run.source_run_id else None,
    }


async def start_run(
    session: AsyncSession,
    principal: Principal,
    automation: Automation,
    *,
    payload: JsonValue,
    trigger: RunTrigger,
    dedupe_key: str | None = None,
    version: int | None = None,
    source_run: AutomationRun | None = None,
    reuse: dict[str, ReusedStep] | None = None,
    depth: int = 0,
    parent_run_id: uuid.UUID | None = None,
    initiator_id: uuid.UUID | None = None,
    start_workflow: bool = True,
) -> tuple[AutomationRun, bool]:
    """Start a run of ``automation`` on ``version`` (its latest by default): the run row
    and the outbox message that starts its workflow, in the caller's transaction.

    With ``dedupe_key``, a second start with the same key (a repeated Idempotency-Key or
    webhook-id) returns the first run and ``created`` False; concurrent starts wait on the
    unique index, so they too end with one run. A key already used returns its run even
    when the automation has been paused since: the start it repeats was accepted.

    The automation's flow control (services.automations.admission) decides whether the run
    starts now, waits in the queue (or a debounce window), or is skipped; only a run that
    starts now gets its start message. A run deeper than ``MAX_EVENT_DEPTH`` event hops is
    recorded as failed and never starts. ``start_workflow`` False leaves the start to the
    caller (a parent workflow starting it as its child, with ``run_start.run_input``)."""
    pinned = await _pinned_or_repeat(session, principal, automation, version, dedupe_key)
    if isinstance(pinned, AutomationRun):
        return pinned, False
    check_payload(payload)
    number = pinned.version
    run_id = uuid.uuid4()
    if depth > MAX_EVENT_DEPTH:
        decision = admission.Admission(
            status=RunStatus.failed,
            reason=f"the chain of events and calls that led here is deeper than "
            f"{MAX_EVENT_DEPTH}; the run was not started, to cut a loop",
        )
    else:
        decision = await admission.admit(
            session,
            automation,
            Definition.model_validate(pinned.definition),
            run_id=run_id,
            payload=payload,
            trigger=trigger,
        )
    stmt = insert(AutomationRun).values(
        id=run_id,
        firm_id=automation.firm_id,
        automation_id=automation.id,
        version=number,
        status=decision.status,
        trigger=trigger,
        trigger_payload=payload,
        dedupe_key=dedupe_key,
        source_run_id=source_run.id if source_run is not None else None,
        created_by=principal.user_id or initiator_id,
        depth=depth,
        parent_run_id=parent_run_id,
        concurrency_key=decision.concurrency_key,
        error=None if decision.reason is None else {"step": None, "message": decision.reason},
        finished_at=func.clock_timestamp() if decision.finished else None,
    )
    if dedupe_key is not None:
        stmt = stmt.on_conflict_do_nothing(index_elements=["automation_id", "dedupe_key"])
    # The inserted row itself, with its server-set times: no second read on the start path.
    run = await session.scalar(stmt.returning(AutomationRun))
    if run is None:
        # A concurrent start with the same key committed first (we waited on its row).
        return (await session.scalars(_deduplicated(automation, dedupe_key))).one(), False
    if start_workflow and run.status == RunStatus.running:
        await run_start.enqueue_start(session, run, pinned.definition, reuse=reuse)
    await audit.record(
        session,
        principal,
        action=_AUDIT_ACTIONS[trigger],
        record_type="automation_run",
        record_id=run.id,
        after=_summary(run),
    )
    return run, True


async def _pinned_or_repeat(
    session: AsyncSession,
    principal: Principal,
    automation: Automation,
    version: int | None,
    dedupe_key: str | None,
) -> AutomationVersion | AutomationRun:
    """The version a new run pins or, with ``dedupe_key``, the run that key already
    started (then nothing new starts): one query for both on the start path. A key already
    used returns its run even when the automation has been paused since."""
    try:
        number = _runnable_version(automation, version)
    except Conflict:
        repeat = await _repeat(session, automation, dedupe_key)
        if repeat is None:
            raise
        return repeat
    if dedupe_key is not None:
        found = (
            await session.execute(
                VERSIONS.select(automation.firm_id)
                .add_columns(AutomationRun)
                .outerjoin(
                    AutomationRun,
                    and_(
                        RUNS.owned_by(automation.firm_id),
                        AutomationRun.automation_id == automation.id,
                        AutomationRun.dedupe_key == dedupe_key,
                    ),
                )
                .where(AutomationVersion.automation_id == automation.id)
                .where(AutomationVersion.version == number)
            )
        ).one_or_none()
        if found is not None:
            pinned: AutomationVersion = found[0]
            started: AutomationRun | None = found[1]
            return pinned if started is None else started
        # No such version: only a run the key started can still be the answer.
        repeat = await _repeat(session, automation, dedupe_key)
        if repeat is not None:
            return repeat
    return await get_version(session, principal, automation.id, number)


async def _repeat(
    session: AsyncSession, automation: Automation, dedupe_key: str | None
) -> AutomationRun | None:
    if dedupe_key is None:
        return None
    return await session.scalar(_deduplicated(automation, dedupe_key))


def _deduplicated(automation: Automation, dedupe_key: str | None) -> Select[AutomationRun]:
    return RUNS.select(automation.firm_id).where(
        AutomationRun.automation_id == automation.id,
        AutomationRun.dedupe_key == dedupe_key,
    )


async def start_manual(
    session: AsyncSession,
    principal: Principal,
    automation_id: uuid.UUID,
    *,
    payload: JsonValue,
    idempotency_key: str | None,
) -> tuple[AutomationRun, bool]:
    """A run started by hand. The caller's Idempotency-Key doubles as the run's dedupe key,
    so the same key finds the same run whoever sends it again; with another payload it is
    a 409 rather than a run that silently ignores the new payload."""
    automation = await get_automation(session, principal, automation_id)
    dedupe_key = f"manual:{idempotency_key}" if idempotency_key is not None else None
    run, created = await start_run(
        session,
        principal,
        automation,
        payload=payload,
        trigger=RunTrigger.manual,
        dedupe_key=dedupe_key,
    )
    if not created and run.trigger_payload != payload:
        raise Conflict(
            "This Idempotency-Key already started a run with another payload; "
            "use a new key for a new run"
        )
    return run, created


async def get_run(
    session: AsyncSession, principal: Principal, run_id: uuid.UUID, *, lock: bool = False
) -> AutomationRun:
    return await RUNS.get_or_404(session, principal, run_id, lock=lock)


def steps_query(principal: Principal, run_id: uuid.UUID) -> Select[AutomationRunStep]:
    return (
        RUN_STEPS.select(principal)
        .where(AutomationRunStep.run_id == run_id)
        # The steps of foreach items share their foreach step's position: they follow in
        # the order they started (their ids "<foreach>.<index>.<step>" break ties).
        .order_by(
            AutomationRunStep.position, AutomationRunStep.started_at, AutomationRunStep.step_id
        )
        .limit(MAX_STEPS + 1)
    )


async def run_steps(
    session: AsyncSession, principal: Principal, run_id: uuid.UUID
) -> tuple[list[AutomationRunStep], bool]:
    """The run's recorded steps in the order they started, and whether more than
    ``MAX_STEPS`` exist (only the first ones are returned)."""
    rows = list((await session.scalars(steps_query(principal, run_id))).all())
    return rows[:MAX_STEPS], len(rows) > MAX_STEPS


async def live_view(temporal: ClientProvider, run: AutomationRun) -> RunView | None:
    """The workflow's own ``progress`` answer while the run is running; None when the run
    is over, the workflow has not started yet, or Temporal does not answer in time. The
    rows stay the record either way, so a missing live view is never an error."""
    if run.status != RunStatus.running:
        return None
    try:
        async with asyncio.timeout(LIVE_QUERY_SECONDS):
            client = await temporal()
            handle = client.get_workflow_handle(workflow_id(run.id))
            view: RunView = await handle.query("progress", result_type=RunView)
    except Exception as exc:
        log.info("no live view of run %s: %s", run.id, type(exc).__name__)
        return None
    return view


@dataclass(frozen=True)
class RunFilters:
    """``started_after`` is inclusive and ``started_before`` exclusive; both need a time
    zone offset."""

    automation_id: uuid.UUID | None = None
    status: RunStatus | None = None
    started_after: datetime | None = None
    started_before: datetime | None = None

    def __post_init__(self) -> None:
        for name in ("started_after", "started_before"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise BadRequest(
                    f"{name} needs a time zone offset (e.g. 2026-01-31T09:00:00Z)",
                    errors=[{"parameter": name, "in": "query", "detail": "no time zone offset"}],
                )
        if self.started_after and self.started_before and self.started_after >= self.started_before:
            raise BadRequest(
                "The time range is empty: started_after must be before started_before",
                errors=[
                    {
                        "parameter": "started_after",
                        "in": "query",
                        "detail": "not before started_before",
                    }
                ],
            )


def runs_query(
    principal: Principal, filters: RunFilters, page: PageParams
) -> Select[AutomationRun]:
    stmt = RUNS.select(principal).options(defer(AutomationRun.trigger_payload))
    if filters.automation_id is not None:
        stmt = stmt.where(AutomationRun.automation_id == filters.automation_id)
    if filters.status is not None:
        stmt = stmt.where(AutomationRun.status == filters.status)
    if filters.started_after is not None:
        stmt = stmt.where(AutomationRun.created_at >= filters.started_after)
    if filters.started_before is not None:
        stmt = stmt.where(AutomationRun.created_at < filters.started_before)
    return keyset(stmt, AutomationRun.created_at, AutomationRun.id, page)


async def list_runs(
    session: AsyncSession, principal: Principal, *, filters: RunFilters, page: PageParams
) -> Page[AutomationRun]:
    """Newest first, without trigger payloads (``get_run`` has them)."""
    rows = (await session.scalars(runs_query(principal, filters, page))).all()
    return to_page(rows, page)


async def retry_run(
    session: AsyncSession, principal: Principal, run_id: uuid.UUID, *, version: RetryVersion
) -> AutomationRun:
    """A new run with the same trigger payload, on the source run's version or on the
    automation's latest. Only a finished run is retried (409 while it runs)."""
    source = await get_run(session, principal, run_id)
    if source.status == RunStatus.running:
        raise Conflict("This run is still running; cancel it or let it finish before a retry")
    automation = await get_automation(session, principal, source.automation_id)
    run, _ = await start_run(
        session,
        principal,
        automation,
        payload=source.trigger_payload,
        trigger=RunTrigger.retry,
        version=source.version if version == "original" else None,
        source_run=source,
    )
    return run


async def resume_run(
    session: AsyncSession, principal: Principal, run_id: uuid.UUID
) -> AutomationRun:
    """A new run of a failed run's version and payload that picks up where it failed.

    Every step the source run succeeded at (or itself reused) goes into the new run's
    ``reuse`` map under ``"<step id>#<visit>"``. The workflow walks the graph from the start
    again, and at each reused step takes the recorded output instead of executing it (no
    effect is repeated), so the failed step and everything after it run for real. It stays
    on the source's version because the recorded outputs belong to that definition."""
    source = await get_run(session, principal, run_id)
    if source.status != RunStatus.failed:
        raise Conflict(f"Only a failed run can be resumed; this run's status is {source.status}.")
    automation = await get_automation(session, principal, source.automation_id)
    reuse = await run_start.reused_steps(session, principal.firm_id, source.id)
    run, _ = await start_run(
        session,
        principal,
        automation,
        payload=source.trigger_payload,
        trigger=RunTrigger.resume,
        version=source.version,
        source_run=source,
        reuse=reuse,
    )
    return run
