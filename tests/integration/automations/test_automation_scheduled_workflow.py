"""AutomationScheduleWorkflow on the time-skipping server with the real worker (the real
``prepare_child_run`` and run workflow) against committed Postgres: a fire runs the latest
version with the trigger's payload and waits for it; a retried preparation starts one run;
a paused automation's fire starts nothing; a failing run is reported, not raised; canceling
a fire cancels its run, and both end canceled.

The schedule itself is Temporal's (tests/integration/automations/test_automation_schedules.py, dev
server); here each fire is started the way the schedule starts it."""

import asyncio
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError, CancelledError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import build_activities
from activities.automation_flow import FlowActivities
from core.config import Settings
from core.db import tenant_session
from core.temporal import fixed_client
from models import AutomationStatus, RunStatus
from services.automations import automations
from services.automations.automations import AutomationFields
from tests.automations import runs_of
from tests.factories import Actor, principal_of
from workflows.automation.run.contracts import (
    PREPARE_CHILD_RUN_ACTIVITY,
    ChildRunPrepared,
    workflow_id,
)
from workflows.automation.run.contracts import ChildRunRequest as Request
from workflows.automation.schedule.contracts import FireResult, ScheduleFire, dedupe_key
from workflows.automation.schedule.workflow import AutomationScheduleWorkflow
from workflows.registry import WORKFLOWS, workflow_runner

Maker = async_sessionmaker[AsyncSession]


def scheduled(payload: dict[str, Any], **steps: dict[str, Any]) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "trigger": {"type": "schedule", "cron": "0 8 * * 1", "payload": payload},
        "start": next(iter(steps)),
        "steps": steps,
    }


NOTE = {"type": "set", "params": {"vars": {"week": "{{ trigger.week }}"}}}


async def automation(
    maker: Maker, actor: Actor, *versions: dict[str, Any], status: AutomationStatus
) -> uuid.UUID:
    """An automation with ``versions`` published in turn, then set to ``status``. Done
    through the services: the outbox's schedule syncs are left pending (this server has
    no schedules)."""
    principal = principal_of(actor)
    async with tenant_session(actor.firm.id, maker) as session:
        created = await automations.create_automation(
            session, principal, fields=AutomationFields(name="Weekly")
        )
        for version in versions:
            await automations.save_draft(
                session, principal, created.id, raw=json.dumps(version).encode()
            )
            await automations.publish(session, principal, created.id)
            if created.status == AutomationStatus.draft:
                await automations.set_status(session, principal, created.id, status)
        return created.id


def fire_worker(
    env: WorkflowEnvironment,
    settings: Settings,
    maker: Maker,
    task_queue: str,
    prepare: Callable[..., Any] | None = None,
) -> Worker:
    """The worker's workflows and activities, with ``prepare`` standing in for the
    preparation activity when given (it wraps the real one)."""
    found = build_activities(settings, maker, fixed_client(env.client))
    if prepare is not None:
        found = [fn for fn in found if getattr(fn, "__name__", "") != "prepare_child_run"]
        found.append(prepare)
    return Worker(
        env.client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        activities=found,
        workflow_runner=workflow_runner(),
    )


async def fire(
    env: WorkflowEnvironment, queue: str, actor: Actor, automation_id: uuid.UUID
) -> tuple[FireResult, WorkflowHandle[Any, Any]]:
    handle = await env.client.start_workflow(
        AutomationScheduleWorkflow.run,
        ScheduleFire(firm_id=actor.firm.id, automation_id=automation_id),
        id=f"automation-scheduled-{automation_id}-{uuid.uuid4()}",
        task_queue=queue,
    )
    # A handle from env.client.start_workflow skips time while awaited by itself (unlocking
    # it once more would skip time while the worker still holds a task).
    result: FireResult = await handle.result()
    return result, handle


async def test_a_fire_runs_the_latest_version_with_the_trigger_payload(
    temporal_env: WorkflowEnvironment,
    settings: Settings,
    committing_sessionmaker: Maker,
    committed_owner: Actor,
    task_queue: str,
) -> None:
    maker = committing_sessionmaker
    automation_id = await automation(
        maker,
        committed_owner,
        scheduled({"week": "v1"}, note=NOTE),
        scheduled({"week": "v2"}, note=NOTE),
        status=AutomationStatus.active,
    )
    async with fire_worker(temporal_env, settings, maker, task_queue):
        result, _ = await fire(temporal_env, task_queue, committed_owner, automation_id)

    assert (result.admission, result.status, result.reason) == ("running", "succeeded", None)
    [run] = await runs_of(maker, committed_owner, automation_id)
    assert run.id == result.run_id
    assert (run.trigger, run.version, run.status) == ("schedule", 2, RunStatus.succeeded)
    assert run.trigger_payload == {"week": "v2"}
    # Started directly (no scheduled time), the fire goes by its own start time.
    assert run.dedupe_key == dedupe_key(result.scheduled_at)
    assert run.dedupe_key == "schedule:" + result.scheduled_at.isoformat()


async def test_a_retried_preparation_starts_one_run(
    temporal_env: WorkflowEnvironment,
    settings: Settings,
    committing_sessionmaker: Maker,
    committed_owner: Actor,
    task_queue: str,
) -> None:
    maker = committing_sessionmaker
    real = FlowActivities(maker, fixed_client(temporal_env.client))
    attempts: list[int] = []

    @activity.defn(name=PREPARE_CHILD_RUN_ACTIVITY)
    async def prepare_then_lose_the_answer(request: Request) -> ChildRunPrepared:
        # The real activity commits its run; the first answer is then lost, as when a
        # worker dies between the commit and reporting back.
        prepared = await real.prepare_child_run(request)
        attempts.append(activity.info().attempt)
        if activity.info().attempt == 1:
            raise ApplicationError("worker lost after the commit")
        return prepared

    automation_id = await automation(
        maker, committed_owner, scheduled({"week": "w"}, note=NOTE), status=AutomationStatus.active
    )
    async with fire_worker(temporal_env, settings, maker, task_queue, prepare_then_lose_the_answer):
        result, _ = await fire(temporal_env, task_queue, committed_owner, automation_id)

    assert attempts == [1, 2]
    [run] = await runs_of(maker, committed_owner, automation_id)
    assert (result.run_id, result.status, run.status) == (run.id, "succeeded", "succeeded")


async def test_a_paused_automations_fire_starts_nothing(
    temporal_env: WorkflowEnvironment,
    settings: Settings,
    committing_sessionmaker: Maker,
    committed_owner: Actor,
    task_queue: str,
) -> None:
    maker = committing_sessionmaker
    automation_id = await automation(
        maker, committed_owner, scheduled({"week": "p"}, note=NOTE), status=AutomationStatus.active
    )
    async with tenant_session(committed_owner.firm.id, maker) as session:
        await automations.set_status(
            session, principal_of(committed_owner), automation_id, AutomationStatus.paused
        )
    async with fire_worker(temporal_env, settings, maker, task_queue):
        result, _ = await fire(temporal_env, task_queue, committed_owner, automation_id)

    assert (result.admission, result.run_id, result.status) == ("failed", None, None)
    assert result.reason is not None and "paused" in result.reason
    assert await runs_of(maker, committed_owner, automation_id) == []


async def test_a_failing_run_is_reported_by_the_fire(
    temporal_env: WorkflowEnvironment,
    settings: Settings,
    committing_sessionmaker: Maker,
    committed_owner: Actor,
    task_queue: str,
) -> None:
    maker = committing_sessionmaker
    stop = {"type": "stop", "params": {"status": "failed", "message": "no figures for {{ 1 + 1 }}"}}
    automation_id = await automation(
        maker, committed_owner, scheduled({}, stop=stop), status=AutomationStatus.active
    )
    async with fire_worker(temporal_env, settings, maker, task_queue):
        result, handle = await fire(temporal_env, task_queue, committed_owner, automation_id)

    assert (result.admission, result.status, result.reason) == (
        "running",
        "failed",
        "no figures for 2",
    )
    [run] = await runs_of(maker, committed_owner, automation_id)
    assert (run.status, run.error) == (
        RunStatus.failed,
        {"step": "stop", "message": "no figures for 2"},
    )
    # The fire itself completed: a failed run is the run's business, not the schedule's.
    assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED


async def test_canceling_a_fire_cancels_its_run(
    temporal_env: WorkflowEnvironment,
    settings: Settings,
    committing_sessionmaker: Maker,
    committed_owner: Actor,
    task_queue: str,
) -> None:
    maker = committing_sessionmaker
    wait = {"type": "delay", "params": {"seconds": 3600}}
    automation_id = await automation(
        maker, committed_owner, scheduled({}, wait=wait), status=AutomationStatus.active
    )
    async with fire_worker(temporal_env, settings, maker, task_queue):
        handle = await temporal_env.client.start_workflow(
            AutomationScheduleWorkflow.run,
            ScheduleFire(firm_id=committed_owner.firm.id, automation_id=automation_id),
            id=f"automation-scheduled-{automation_id}-{uuid.uuid4()}",
            task_queue=task_queue,
        )
        run_id = await running_child(temporal_env, maker, committed_owner, automation_id)
        await handle.cancel()
        with pytest.raises(WorkflowFailureError) as ended:
            await handle.result()

    assert isinstance(ended.value.cause, CancelledError)
    [run] = await runs_of(maker, committed_owner, automation_id)
    assert (run.id, run.status) == (run_id, RunStatus.canceled)


async def running_child(
    env: WorkflowEnvironment, maker: Maker, actor: Actor, automation_id: uuid.UUID
) -> uuid.UUID:
    """The fire's run, once its workflow has started (polled, within a deadline)."""
    async with asyncio.timeout(60):
        while True:
            runs = await runs_of(maker, actor, automation_id)
            if runs:
                try:
                    described = await env.client.get_workflow_handle(
                        workflow_id(runs[0].id)
                    ).describe()
                except RPCError:
                    described = None
                if described is not None:
                    return runs[0].id
            await asyncio.sleep(0.1)
