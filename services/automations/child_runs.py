"""The run a ``call_automation`` step or a schedule fire starts: admitted like any other run
(services.automations.runs.start_run), but handed back for the calling workflow to start as
its child (activity ``automation.prepare_child_run``).
"""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import AppError
from core.principal import Principal
from models import AutomationRun, AutomationStatus, RunStatus, RunTrigger
from services.automations import run_start, runs
from services.automations.automations import get_version
from services.automations.repository import AUTOMATIONS
from workflows.automation.definition import Definition
from workflows.automation.definition.triggers import ScheduleTrigger
from workflows.automation.run.contracts import ChildRunPrepared, ChildRunRequest

NO_AUTOMATION = "no automation with this id in your firm"


async def prepare_child_run(session: AsyncSession, request: ChildRunRequest) -> ChildRunPrepared:
    """The run a ``call_automation`` step or a schedule fire starts (in the firm's tenant
    session): admitted like any other run, but left for the caller to start as its child
    workflow with the returned ``input``. Every refusal is an answer, never an exception.

    ``dedupe_key`` makes a retried call find the run it created: the same run comes back,
    with its ``input`` again while it is still running (the caller starts the child under
    the run's deterministic workflow id, so a start that already happened is not
    repeated). A run that has already ended is answered as failed, so it never runs twice.
    A schedule fire's payload is the latest version's ``trigger.payload``."""
    automation = None
    if request.caller_firm_id == request.firm_id:
        automation = await AUTOMATIONS.get(session, request.firm_id, request.automation_id)
    if automation is None:
        return ChildRunPrepared(admission="failed", reason=NO_AUTOMATION)
    principal = Principal.system(request.firm_id)
    existing = await session.scalar(
        select(AutomationRun).where(
            AutomationRun.automation_id == automation.id,
            AutomationRun.dedupe_key == request.dedupe_key,
        )
    )
    if existing is not None:
        return await _prepared(session, principal, existing)
    if automation.latest_version is None or automation.status != AutomationStatus.active:
        state = "unpublished" if automation.latest_version is None else automation.status
        return ChildRunPrepared(
            admission="failed",
            reason=f"the automation is {state}; only an active automation with a published "
            "version runs",
        )
    payload = request.payload
    if request.trigger == "schedule":
        latest = await get_version(session, principal, automation.id, automation.latest_version)
        trigger = Definition.model_validate(latest.definition).trigger
        if not isinstance(trigger, ScheduleTrigger):
            return ChildRunPrepared(
                admission="failed",
                reason="the automation's latest version is no longer triggered by a schedule",
            )
        payload = trigger.payload
    try:
        run, _ = await runs.start_run(
            session,
            principal,
            automation,
            payload=payload,
            trigger=RunTrigger(request.trigger),
            dedupe_key=request.dedupe_key,
            depth=request.depth,
            parent_run_id=request.parent_run_id,
            initiator_id=request.initiator_id,
            start_workflow=False,
        )
    except AppError as exc:
        # A payload over the limits: the call can never succeed as it is.
        return ChildRunPrepared(admission="failed", reason=exc.detail)
    return await _prepared(session, principal, run)


async def _prepared(
    session: AsyncSession, principal: Principal, run: AutomationRun
) -> ChildRunPrepared:
    reason = None if run.error is None else str(run.error.get("message"))
    if run.status == RunStatus.running:
        version = await get_version(session, principal, run.automation_id, run.version)
        start = await run_start.run_input(session, run, version.definition)
        return ChildRunPrepared(admission="running", run_id=run.id, input=start)
    if run.status in (RunStatus.queued, RunStatus.skipped, RunStatus.failed):
        return ChildRunPrepared(admission=run.status.value, run_id=run.id, reason=reason)
    return ChildRunPrepared(
        admission="failed", run_id=run.id, reason=f"its run has already ended ({run.status})"
    )
