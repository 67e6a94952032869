"""Acting on a run in flight: cancelling it (recording who did) and sending it an event
(``POST /v1/automation-runs/{id}/events/{name}``). Every cancel is an audit event."""

import logging
import uuid
from datetime import UTC, datetime

from pydantic import JsonValue, TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from core.errors import Conflict, Unprocessable
from core.principal import Principal
from core.temporal import ClientProvider
from models import AutomationRun, AutomationVersion, OutboxMessage, RunStatus
from pure import event_catalogue
from services import audit
from services.automations import admission, approvals
from services.automations.repository import VERSIONS
from services.automations.runs import NOT_STARTED, TemporalUnavailable, check_payload, get_run
from services.outbox import writer as outbox
from workflows.automation.definition.base import EventName
from workflows.automation.run.contracts import EVENT_SIGNAL, RunEvent, workflow_id

log = logging.getLogger("firmflow.automations.runs")
# How a run that can no longer be canceled, or take events, stands (after "This run").
_ENDED = {
    RunStatus.succeeded: "has already succeeded",
    RunStatus.failed: "has already failed",
    RunStatus.canceled: "has already been canceled",
    RunStatus.skipped: "was skipped and never ran",
}
_NOT_RUNNING = {**_ENDED, RunStatus.queued: "is still queued and not running yet"}

_EVENT_NAME: TypeAdapter[str] = TypeAdapter(EventName)


async def _cancel_workflow(temporal: ClientProvider, run: AutomationRun) -> str | None:
    """Ask the run's workflow to cancel; None when asked, or how it already ended
    (``TERMINATED``, ``NOT_FOUND`` …) when it is no longer running."""
    try:
        client = await temporal()
        handle = client.get_workflow_handle(workflow_id(run.id))
        try:
            described = await handle.describe()
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND:
                return "NOT_FOUND"
            raise
        if described.status != WorkflowExecutionStatus.RUNNING:
            return described.status.name if described.status is not None else "UNKNOWN"
        await handle.cancel()
    except RPCError as exc:
        log.warning("cancelling run %s failed: %s", run.id, exc.status.name)
        raise TemporalUnavailable("The workflow service refused the request; try again") from exc
    except Exception as exc:
        log.warning("cancelling run %s failed: %s", run.id, type(exc).__name__)
        raise TemporalUnavailable("The workflow service is not reachable; try again") from exc
    return None


def _mark_canceled(run: AutomationRun, message: str | None) -> None:
    run.status = RunStatus.canceled
    run.finished_at = datetime.now(UTC)
    if message is not None:
        run.error = {"step": None, "message": message}


async def cancel_run(
    session: AsyncSession, principal: Principal, temporal: ClientProvider, run_id: uuid.UUID
) -> AutomationRun:
    """Cancel a queued or running run (409 for a finished one), recording who did.

    A queued run has no workflow yet: it is ``canceled`` here, and its place in the queue
    (or debounce window) is given up. A running run normally gets its workflow asked to
    cancel, which records the status ``canceled`` itself (keeping ``canceled_by``); the
    run is still ``running`` when this returns. Two cases have no workflow to ask, and the
    run is marked ``canceled`` here, in the same transaction:

    - The outbox has not started the workflow yet. The start message is locked (waiting
      for a relay that is dispatching it right now, so its outcome is known) and, still
      pending, marked dispatched with ``NOT_STARTED`` as its note, so no relay starts it.
    - The workflow has ended without recording an outcome (terminated or timed out in
      Temporal, or gone after retention). The run row is locked first, so a workflow that
      completes normally cannot be in the middle of recording its outcome: that outcome
      would already be on the row, and the run would not be ``running``.

    The run's pending approvals are canceled with it, so no approver is left deciding."""
    run = await get_run(session, principal, run_id, lock=True)
    if run.status not in (RunStatus.running, RunStatus.queued):
        raise Conflict(
            f"This run {_ENDED[run.status]}; only a queued or running run can be canceled."
        )
    run.canceled_by = principal.user_id
    if run.status == RunStatus.queued:
        _mark_canceled(run, None)
        how = "queued"
    else:
        how = await _cancel_running(session, principal, temporal, run)
    await session.flush()
    if how != "workflow":
        # No workflow will finish this run (and release its slot): free it here.
        await admission.release(session, run.id)
    await approvals.cancel_for_run(session, principal, run.id)
    await audit.record(
        session,
        principal,
        action="automation_run.canceled",
        record_type="automation_run",
        record_id=run.id,
        after={"status": str(run.status), "how": how, "canceled_by": _text(run.canceled_by)},
    )
    return run


def _text(value: uuid.UUID | None) -> str | None:
    return None if value is None else str(value)


async def _cancel_running(
    session: AsyncSession, principal: Principal, temporal: ClientProvider, run: AutomationRun
) -> str:
    message = await outbox.MESSAGES.find(
        session,
        principal,
        OutboxMessage.dedupe_key == outbox.start_key(workflow_id(run.id)),
        lock=True,
    )
    if message is not None and message.dispatched_at is None:
        message.dispatched_at = datetime.now(UTC)
        message.last_error = NOT_STARTED
        _mark_canceled(run, None)
        return "before start"
    # canceled_by is on the row before Temporal is asked: the workflow's finish only sets
    # the status, so it keeps who canceled.
    await session.flush()
    ended = await _cancel_workflow(temporal, run)
    if ended is not None:
        _mark_canceled(run, f"the workflow had ended ({ended}) without recording an outcome")
        return "workflow ended"
    return "workflow"


def _event_name_problem(name: str, detail: str) -> Unprocessable:
    return Unprocessable(
        f"The event name {detail}", errors=[{"parameter": "name", "in": "path", "detail": detail}]
    )


async def send_event(
    session: AsyncSession,
    principal: Principal,
    run_id: uuid.UUID,
    name: str,
    *,
    key: str | None,
    payload: JsonValue,
    event_id: str,
) -> str:
    """Send the event ``name`` to a running run whose version waits for it; the run keeps
    it until a ``wait_for_event`` step with a matching key takes it. ``event_id`` is unique
    per event: the run ignores one it has seen. Returns it.

    Names in firmflow's own namespaces (``invoice.paid`` …) are refused: those events come
    from firmflow alone, so a run can trust them."""
    try:
        _EVENT_NAME.validate_python(name)
    except ValidationError:
        raise _event_name_problem(
            name, "is not an event name (lowercase segments joined by dots, e.g. custom.signed)"
        ) from None
    if event_catalogue.is_reserved(name):
        raise _event_name_problem(name, f"{name} is emitted by firmflow itself")
    run = await get_run(session, principal, run_id)
    check_payload(payload)
    if run.status != RunStatus.running:
        raise Conflict(f"This run {_NOT_RUNNING[run.status]}; send events to a running run only.")
    waits = await session.scalar(
        select(AutomationVersion.wait_events).where(
            VERSIONS.owned_by(principal),
            AutomationVersion.automation_id == run.automation_id,
            AutomationVersion.version == run.version,
        )
    )
    if name not in (waits or []):
        raise Conflict(
            f"Version {run.version} of this automation never waits for {name}; "
            "the run would never take it"
        )
    event = RunEvent(event_id=event_id, name=name, key=key, payload=payload)
    await outbox.enqueue_message(
        session,
        principal.firm_id,
        outbox.signal_workflow(
            workflow_id(run.id),
            EVENT_SIGNAL,
            dedupe_key=f"event:{event_id}:{run.id}",
            arg=event,
        ),
    )
    return event_id
