"""The message that starts an automation run's workflow: what the run starts with (its pinned
definition, the firm's time zone, the steps a resume reuses) and its outbox message. Both a
new run (services.automations.runs) and a queued run admitted later
(services.automations.admission) start this way, so it sits below both.
"""

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import AutomationRun, AutomationRunStep, Firm, StepStatus
from services.automations.repository import RUN_STEPS
from services.outbox.writer import enqueue_message
from services.outbox.writer import start_workflow as start_workflow_message
from workflows.automation.run.contracts import WORKFLOW_NAME, ReusedStep, RunInput, workflow_id


async def run_input(
    session: AsyncSession,
    run: AutomationRun,
    definition: dict[str, Any],
    *,
    reuse: dict[str, ReusedStep] | None = None,
) -> RunInput:
    """What the run's workflow starts with: the pinned definition and the firm's zone."""
    time_zone = await session.scalar(select(Firm.time_zone).where(Firm.id == run.firm_id))
    return RunInput(
        run_id=run.id,
        firm_id=run.firm_id,
        automation_id=run.automation_id,
        version=run.version,
        definition=definition,
        trigger=run.trigger_payload,
        started_at=run.started_at,
        firm_time_zone=time_zone or "UTC",
        reuse=reuse or {},
        depth=run.depth,
        initiator_id=run.created_by,
        local_steps=True,
    )


async def enqueue_start(
    session: AsyncSession,
    run: AutomationRun,
    definition: dict[str, Any],
    *,
    reuse: dict[str, ReusedStep] | None = None,
) -> None:
    """The outbox message that starts the run's workflow (also used when a queued run is
    admitted later)."""
    start = await run_input(session, run, definition, reuse=reuse)
    await enqueue_message(
        session, run.firm_id, start_workflow_message(WORKFLOW_NAME, workflow_id(run.id), start)
    )


async def reused_steps(
    session: AsyncSession, firm_id: uuid.UUID, source_run_id: uuid.UUID
) -> dict[str, ReusedStep]:
    """What a resume of ``source_run_id`` takes instead of executing: every step it
    succeeded at (or itself reused), under ``"<step id>#<visit>"``."""
    done = await session.scalars(
        RUN_STEPS.select(firm_id).where(
            AutomationRunStep.run_id == source_run_id,
            AutomationRunStep.status.in_([StepStatus.succeeded, StepStatus.reused]),
        )
    )
    return {
        f"{step.step_id}#{step.visit}": ReusedStep(output=step.output, input=step.input)
        for step in done
    }
