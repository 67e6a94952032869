"""The saved AutomationForeachWorkflow history replays against today's code.

``histories/automation_foreach.json`` is the foreach child of one run, recorded on the
time-skipping server with the real worker and activities (``record_history``, which
tests/replay/regenerate.py runs): three items, two at a time, items 1 and 3 calling a
loopback server and setting a variable, item 2 stopped as failed and reported
(``on_item_error`` "continue"). A change to the workflow that would break executions in
flight fails here: version it with ``workflow.patched``."""

from typing import Any

import pytest
from temporalio.testing import WorkflowEnvironment

from core.db import tenant_session
from models import AutomationStatus, RunTrigger
from services.automations import automations
from services.automations.automations import AutomationFields
from services.automations.runs import start_run
from services.firm_settings import HttpAllowlist, set_http_allowlist
from services.outbox.writer import pop_outbox_ids
from tests.fixtures.temporal import result_skipping_time
from tests.http_target import running_target
from tests.replay.recording import (
    HISTORIES,
    Maker,
    activity_names,
    assert_tampering_caught,
    dispatch,
    events,
    history_json,
    new_firm_owner,
    replay_saved,
    started_type,
)
from workflows.automation.run.contracts import action_activity, workflow_id
from workflows.automation.run.foreach import contracts as foreach
from workflows.automation.run.foreach.workflow import AutomationForeachWorkflow

HISTORY = HISTORIES / "automation_foreach.json"


def _automation(url: str) -> dict[str, Any]:
    body = {
        "check": {
            "type": "condition",
            "params": {"expression": "item == 2"},
            "then": "refuse",
            "else": "call",
        },
        "refuse": {"type": "stop", "params": {"status": "failed", "message": "two"}},
        "call": {
            "type": "http_request",
            "params": {"method": "POST", "url": url + "/items/{{ item }}"},
            "next": "keep",
        },
        "keep": {"type": "set", "params": {"vars": {"status": "{{ steps.call.output.status }}"}}},
    }
    return {
        "schema_version": 1,
        "trigger": {"type": "manual"},
        "start": "each",
        "steps": {
            "each": {
                "type": "foreach",
                "params": {
                    "items": "trigger.items",
                    "max_concurrency": 2,
                    "on_item_error": "continue",
                },
                "body": {"start": "check", "steps": body},
            }
        },
    }


async def record_history(env: WorkflowEnvironment, maker: Maker) -> str:
    """Run the scenario above on ``env`` (time-skipping) against the database behind
    ``maker`` and return the foreach child's history as JSON. A worker must be polling the
    default task queue (the outbox starts the run there)."""
    principal = await new_firm_owner(maker, "foreach")
    with running_target() as target:
        async with tenant_session(principal.firm_id, maker) as session:
            await set_http_allowlist(
                session, principal, allowlist=HttpAllowlist(entries=["127.0.0.1"])
            )
            automation = await automations.create_automation(
                session,
                principal,
                fields=AutomationFields(name="Replay foreach"),
                draft=_automation(target.url("")),
            )
            await automations.publish(session, principal, automation.id)
            await automations.set_status(session, principal, automation.id, AutomationStatus.active)
            run, _ = await start_run(
                session,
                principal,
                automation,
                payload={"items": [1, 2, 3]},
                trigger=RunTrigger.manual,
            )
            ids = pop_outbox_ids(session)
        await dispatch(env, maker, ids)
        await result_skipping_time(env, env.client.get_workflow_handle(workflow_id(run.id)))
    return await history_json(
        env.client.get_workflow_handle(foreach.workflow_id(run.id, "each", 1))
    )


def test_the_history_covers_items_in_parallel_and_a_close() -> None:
    history = events(HISTORY)
    assert started_type(history) == foreach.WORKFLOW_NAME
    assert activity_names(history) == [action_activity("http_request")] * 2
    assert "workflowExecutionCompletedEventAttributes" in history[-1]


async def test_saved_history_replays_without_nondeterminism() -> None:
    await replay_saved([AutomationForeachWorkflow], HISTORY)


@pytest.mark.parametrize("field", ["activityType", "timer"])
async def test_replay_catches_a_history_the_code_would_not_produce(field: str) -> None:
    await assert_tampering_caught(
        [AutomationForeachWorkflow], HISTORY, field, first_activity_name="automation.http_request"
    )
