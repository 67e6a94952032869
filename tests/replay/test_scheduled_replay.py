"""The saved AutomationScheduleWorkflow history replays against today's code.

``histories/automation_schedule.json`` is one fire recorded on the time-skipping server
with the real worker and activities (``record_history``, which tests/replay/regenerate.py
runs): an active automation with a schedule trigger, two versions published; the fire
prepares its run (the latest version, the trigger's payload) and runs it as its child to
the end. A change to the workflow that would break fires in flight fails here: version it
with ``workflow.patched``."""

import json
import uuid
from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.workflow import NondeterminismError

from core.db import tenant_session
from core.temporal import TASK_QUEUE
from models import AutomationStatus
from services.automations import automations
from services.automations.automations import AutomationFields
from services.automations.schedules import fire_workflow_id
from tests.replay.recording import (
    HISTORIES,
    Maker,
    activity_names,
    events,
    first_activity,
    history_json,
    new_firm_owner,
    replay_saved,
    replay_tampered,
    started_type,
)
from workflows.automation.run.contracts import PREPARE_CHILD_RUN_ACTIVITY, WORKFLOW_NAME
from workflows.automation.schedule import contracts as schedule
from workflows.automation.schedule.contracts import FireResult, ScheduleFire
from workflows.automation.schedule.workflow import AutomationScheduleWorkflow

HISTORY = HISTORIES / "automation_schedule.json"


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


async def record_history(env: WorkflowEnvironment, maker: Maker) -> str:
    """Run the fire above on ``env`` (time-skipping) against the database behind ``maker``
    and return its history as JSON. A worker must be polling the default task queue."""
    principal = await new_firm_owner(maker, "schedule")
    firm_id = principal.firm_id
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
    return await history_json(handle)


def test_the_history_prepares_one_run_and_waits_for_it_as_a_child() -> None:
    history = events(HISTORY)
    assert started_type(history) == schedule.WORKFLOW_NAME
    assert activity_names(history) == [PREPARE_CHILD_RUN_ACTIVITY]
    children = [
        e["startChildWorkflowExecutionInitiatedEventAttributes"]["workflowType"]["name"]
        for e in history
        if "startChildWorkflowExecutionInitiatedEventAttributes" in e
    ]
    assert children == [WORKFLOW_NAME]
    assert any("childWorkflowExecutionCompletedEventAttributes" in e for e in history)
    assert "workflowExecutionCompletedEventAttributes" in history[-1]


async def test_saved_history_replays_without_nondeterminism() -> None:
    await replay_saved([AutomationScheduleWorkflow], HISTORY)


@pytest.mark.parametrize("tamper", ["activity type", "child workflow type"])
async def test_replay_catches_a_history_the_code_would_not_produce(tamper: str) -> None:
    history = events(HISTORY)
    if tamper == "activity type":
        first_activity(history)["activityType"]["name"] = "automation.prepare_scheduled_run_v0"
    else:
        initiated = next(
            e["startChildWorkflowExecutionInitiatedEventAttributes"]
            for e in history
            if "startChildWorkflowExecutionInitiatedEventAttributes" in e
        )
        initiated["workflowType"]["name"] = "AutomationRunWorkflowV0"
    with pytest.raises(NondeterminismError):
        await replay_tampered([AutomationScheduleWorkflow], history)
