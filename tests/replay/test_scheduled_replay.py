"""The saved AutomationScheduleWorkflow history replays against today's code.

``histories/automation_schedule.json`` is one fire recorded on the time-skipping server
with the real worker and activities (``record_history``, which tests/replay/regenerate.py
runs): an active automation with a schedule trigger, two versions published; the fire
prepares its run (the latest version, the trigger's payload) and runs it as its child to
the end. A change to the workflow that would break fires in flight fails here: version it
with ``workflow.patched``."""

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from core.db import tenant_session
from core.principal import Principal
from core.roles import Role
from core.temporal import TASK_QUEUE
from models import AutomationStatus
from services.automations import automations
from services.automations.automations import AutomationFields
from services.automations.schedules import fire_workflow_id
from services.firms import create_firm_with_owner
from workflows.automation.run.contracts import PREPARE_CHILD_RUN_ACTIVITY, WORKFLOW_NAME
from workflows.automation.schedule import contracts as schedule
from workflows.automation.schedule.contracts import FireResult, ScheduleFire
from workflows.automation.schedule.workflow import AutomationScheduleWorkflow
from workflows.registry import workflow_runner

HISTORY = Path(__file__).resolve().parent / "histories" / "automation_schedule.json"


def _definition(week: str) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "trigger": {"type": "schedule", "cron": "0 8 * * 1", "payload": {"week": week}},
        "start": "note",
        "steps": {
            "note": {
                "type": "set",
                "params": {"vars": {"week": "{{ trigger.week }}"}},
                "next": "done",
            },
            "done": {"type": "stop", "params": {"message": "digest for {{ vars.week }}"}},
        },
    }


async def record_history(env: WorkflowEnvironment, maker: async_sessionmaker[AsyncSession]) -> str:
    """Run the fire above on ``env`` (time-skipping) against the database behind ``maker``
    and return its history as JSON. A worker must be polling the default task queue."""
    suffix = uuid.uuid4().hex[:8]
    async with maker() as session, session.begin():
        created = await create_firm_with_owner(
            session,
            firm_name=f"Replay schedule {suffix}",
            slug=f"replay-schedule-{suffix}",
            owner_email=f"owner-schedule-{suffix}@example.com",
            owner_password=uuid.uuid4().hex,
        )
    firm_id, owner_id = created.firm.id, created.owner.id
    principal = Principal(firm_id=firm_id, user_id=owner_id, role=Role.owner, credential="script")
    async with tenant_session(firm_id, maker) as session:
        automation = await automations.create_automation(
            session, principal, fields=AutomationFields(name="Replay schedule")
        )
        for week in ("v1", "v2"):
            raw = json.dumps(_definition(week)).encode()
            await automations.save_draft(session, principal, automation.id, raw=raw)
            await automations.publish(session, principal, automation.id)
        await automations.set_status(session, principal, automation.id, AutomationStatus.active)
    handle = await env.client.start_workflow(
        AutomationScheduleWorkflow.run,
        ScheduleFire(firm_id=firm_id, automation_id=automation.id),
        id=f"{fire_workflow_id(automation.id)}-{uuid.uuid4()}",
        task_queue=TASK_QUEUE,
    )
    result: FireResult = await handle.result()
    assert (result.admission, result.status) == ("running", "succeeded")
    history = await handle.fetch_history()
    return history.to_json() + "\n"


def events() -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = json.loads(HISTORY.read_text())["events"]
    return loaded


def replayer() -> Replayer:
    return Replayer(
        workflows=[AutomationScheduleWorkflow],
        data_converter=pydantic_data_converter,
        workflow_runner=workflow_runner(),
    )


def test_the_history_prepares_one_run_and_waits_for_it_as_a_child() -> None:
    history = events()
    started = history[0]["workflowExecutionStartedEventAttributes"]
    assert started["workflowType"]["name"] == schedule.WORKFLOW_NAME
    activities = [
        e["activityTaskScheduledEventAttributes"]["activityType"]["name"]
        for e in history
        if "activityTaskScheduledEventAttributes" in e
    ]
    assert activities == [PREPARE_CHILD_RUN_ACTIVITY]
    children = [
        e["startChildWorkflowExecutionInitiatedEventAttributes"]["workflowType"]["name"]
        for e in history
        if "startChildWorkflowExecutionInitiatedEventAttributes" in e
    ]
    assert children == [WORKFLOW_NAME]
    assert any("childWorkflowExecutionCompletedEventAttributes" in e for e in history)
    assert "workflowExecutionCompletedEventAttributes" in history[-1]


async def test_saved_history_replays_without_nondeterminism() -> None:
    await replayer().replay_workflow(WorkflowHistory.from_json("schedule", HISTORY.read_text()))


@pytest.mark.parametrize("tamper", ["activity type", "child workflow type"])
async def test_replay_catches_a_history_the_code_would_not_produce(tamper: str) -> None:
    history = events()
    if tamper == "activity type":
        scheduled = next(
            e["activityTaskScheduledEventAttributes"]
            for e in history
            if "activityTaskScheduledEventAttributes" in e
        )
        scheduled["activityType"]["name"] = "automation.prepare_scheduled_run_v0"
    else:
        initiated = next(
            e["startChildWorkflowExecutionInitiatedEventAttributes"]
            for e in history
            if "startChildWorkflowExecutionInitiatedEventAttributes" in e
        )
        initiated["workflowType"]["name"] = "AutomationRunWorkflowV0"
    with pytest.raises(NondeterminismError):
        await replayer().replay_workflow(WorkflowHistory.from_json("tampered", {"events": history}))
