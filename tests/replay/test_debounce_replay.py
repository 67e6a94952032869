"""The saved AutomationDebounceWorkflow history replays against today's code.

``histories/automation_debounce.json`` is one window recorded on the time-skipping server
with the real worker: three runs of an automation with a 60-second debounce queued in one
transaction, their three ``trigger`` signals (the first one starting the workflow), the
quiet window's timer, one ``automation.settle_debounce`` (the last run started, two
superseded), then the workflow's completion (``record_history``, which
tests/replay/regenerate.py runs). A change to the workflow that would break windows in
flight fails here: version it with ``workflow.patched``."""

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.workflow import NondeterminismError

from core.db import tenant_session
from models import AutomationStatus, RunTrigger
from services.automations import automations
from services.automations.automations import AutomationFields
from services.automations.runs import start_run
from services.outbox.writer import pop_outbox_ids
from tests.fixtures.temporal import result_skipping_time
from tests.replay.recording import (
    HISTORIES,
    Maker,
    activity_names,
    dispatch,
    events,
    first_activity,
    history_json,
    new_firm_owner,
    replay_saved,
    replay_tampered,
    signal_names,
    started_type,
)
from workflows.automation.debounce import contracts as debounce
from workflows.automation.debounce.workflow import AutomationDebounceWorkflow

HISTORY = HISTORIES / "automation_debounce.json"
DEFINITION = {
    "schema_version": 1,
    "trigger": {"type": "manual"},
    "debounce": {"window": 60},
    "start": "done",
    "steps": {"done": {"type": "stop", "params": {"status": "succeeded"}}},
}


async def record_history(env: WorkflowEnvironment, maker: Maker) -> str:
    """Run the scenario above on ``env`` (time-skipping, with a worker on the default task
    queue, as tests/replay/regenerate.py runs one) against the database behind ``maker``
    and return the history as JSON."""
    principal = await new_firm_owner(maker, "debounce")
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
    await dispatch(env, maker, ids)
    handle = env.client.get_workflow_handle(debounce.workflow_id(automation.id, None))
    await result_skipping_time(env, handle)
    return await history_json(handle)


def test_the_history_covers_three_triggers_a_window_and_a_settle() -> None:
    history = events(HISTORY)
    assert started_type(history) == debounce.WORKFLOW_NAME
    assert signal_names(history) == [debounce.TRIGGER_SIGNAL] * 3
    assert activity_names(history) == [debounce.SETTLE_ACTIVITY]
    assert any("timerFiredEventAttributes" in e for e in history)
    assert "workflowExecutionCompletedEventAttributes" in history[-1]


async def test_saved_history_replays_without_nondeterminism() -> None:
    await replay_saved([AutomationDebounceWorkflow], HISTORY)


@pytest.mark.parametrize("field", ["activityType", "timer"])
async def test_replay_catches_a_history_the_code_would_not_produce(field: str) -> None:
    history = events(HISTORY)
    if field == "activityType":
        first_activity(history)["activityType"]["name"] = "automation.settle_debounce_v0"
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
        await replay_tampered([AutomationDebounceWorkflow], history)
