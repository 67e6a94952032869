"""The saved AutomationDebounceWorkflow history replays against today's code.

``histories/automation_debounce.json`` is one window recorded on the time-skipping server
with the real worker: three runs of an automation with a 60-second debounce queued in one
transaction, their three ``trigger`` signals (the first one starting the workflow), the
quiet window's timer, one ``automation.settle_debounce`` (the last run started, two
superseded), then the workflow's completion (``record_history``, which
tests/replay/regenerate.py runs). A change to the workflow that would break windows in
flight fails here: version it with ``workflow.patched``."""

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
from core.temporal import fixed_client
from models import AutomationStatus, RunTrigger
from services.automations import automations
from services.automations.automations import AutomationFields
from services.automations.runs import start_run
from services.firms import create_firm_with_owner
from services.outbox.dispatch import dispatch_pending
from services.outbox.writer import pop_outbox_ids
from tests.fixtures.temporal import result_skipping_time
from workflows.automation.debounce import contracts as debounce
from workflows.automation.debounce.workflow import AutomationDebounceWorkflow

HISTORY = Path(__file__).resolve().parent / "histories" / "automation_debounce.json"
DEFINITION = {
    "schema_version": 1,
    "trigger": {"type": "manual"},
    "debounce": {"window": 60},
    "start": "done",
    "steps": {"done": {"type": "stop", "params": {"status": "succeeded"}}},
}


async def record_history(env: WorkflowEnvironment, maker: async_sessionmaker[AsyncSession]) -> str:
    """Run the scenario above on ``env`` (time-skipping, with a worker on the default task
    queue, as tests/replay/regenerate.py runs one) against the database behind ``maker``
    and return the history as JSON."""
    suffix = uuid.uuid4().hex[:8]
    async with maker() as session, session.begin():
        created = await create_firm_with_owner(
            session,
            firm_name=f"Replay debounce {suffix}",
            slug=f"replay-debounce-{suffix}",
            owner_email=f"owner-debounce-{suffix}@example.com",
            owner_password=uuid.uuid4().hex,
        )
    principal = Principal(
        firm_id=created.firm.id, user_id=created.owner.id, role=Role.owner, credential="script"
    )
    async with tenant_session(principal.firm_id, maker) as session:
        automation = await automations.create_automation(
            session, principal, fields=AutomationFields(name="Replay debounce"), draft=DEFINITION
        )
        await automations.publish(session, principal, automation.id)
        await automations.set_status(session, principal, automation.id, AutomationStatus.active)
        for n in range(3):
            await start_run(
                session, principal, automation, payload={"n": n}, trigger=RunTrigger.manual
            )
        ids = pop_outbox_ids(session)
    await dispatch_pending(maker, fixed_client(env.client), limit=len(ids), ids=ids)
    handle = env.client.get_workflow_handle(debounce.workflow_id(automation.id, None))
    await result_skipping_time(env, handle)
    history = await handle.fetch_history()
    return history.to_json() + "\n"


def events() -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = json.loads(HISTORY.read_text())["events"]
    return loaded


def replayer() -> Replayer:
    return Replayer(workflows=[AutomationDebounceWorkflow], data_converter=pydantic_data_converter)


def test_the_history_covers_three_triggers_a_window_and_a_settle() -> None:
    history = events()
    started = history[0]["workflowExecutionStartedEventAttributes"]
    assert started["workflowType"]["name"] == debounce.WORKFLOW_NAME
    signals = [
        e["workflowExecutionSignaledEventAttributes"]["signalName"]
        for e in history
        if "workflowExecutionSignaledEventAttributes" in e
    ]
    assert signals == [debounce.TRIGGER_SIGNAL] * 3
    activities = [
        e["activityTaskScheduledEventAttributes"]["activityType"]["name"]
        for e in history
        if "activityTaskScheduledEventAttributes" in e
    ]
    assert activities == [debounce.SETTLE_ACTIVITY]
    assert any("timerFiredEventAttributes" in e for e in history)
    assert "workflowExecutionCompletedEventAttributes" in history[-1]


async def test_saved_history_replays_without_nondeterminism() -> None:
    await replayer().replay_workflow(
        WorkflowHistory.from_json("automation_debounce", HISTORY.read_text())
    )


@pytest.mark.parametrize("field", ["activityType", "timer"])
async def test_replay_catches_a_history_the_code_would_not_produce(field: str) -> None:
    history = events()
    if field == "activityType":
        scheduled = next(
            e["activityTaskScheduledEventAttributes"]
            for e in history
            if "activityTaskScheduledEventAttributes" in e
        )
        scheduled["activityType"]["name"] = "automation.settle_debounce_v0"
    else:
        # An activity where the code starts the window's timer.
        index = next(i for i, e in enumerate(history) if "timerStartedEventAttributes" in e)
        event = history[index]
        attributes = event.pop("timerStartedEventAttributes")
        event["eventType"] = "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED"
        event["activityTaskScheduledEventAttributes"] = {
            "activityId": "1",
            "activityType": {"name": debounce.SETTLE_ACTIVITY},
            "taskQueue": {"name": "firmflow"},
            "workflowTaskCompletedEventId": attributes["workflowTaskCompletedEventId"],
        }
    with pytest.raises(NondeterminismError):
        await replayer().replay_workflow(WorkflowHistory.from_json("tampered", {"events": history}))
