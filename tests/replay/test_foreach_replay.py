"""The saved AutomationForeachWorkflow history replays against today's code.

``histories/automation_foreach.json`` is the foreach child of one run, recorded on the
time-skipping server with the real worker and activities (``record_history``, which
tests/replay/regenerate.py runs): three items, two at a time, items 1 and 3 calling a
loopback server and setting a variable, item 2 stopped as failed and reported
(``on_item_error`` "continue"). A change to the workflow that would break executions in
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
from services.firm_settings import HttpAllowlist, set_http_allowlist
from services.firms import create_firm_with_owner
from services.outbox.dispatch import dispatch_pending
from services.outbox.writer import pop_outbox_ids
from tests.fixtures.temporal import result_skipping_time
from tests.http_target import running_target
from workflows.automation.foreach import contracts as foreach
from workflows.automation.foreach.workflow import AutomationForeachWorkflow
from workflows.automation.run.contracts import action_activity, workflow_id
from workflows.registry import workflow_runner

HISTORY = Path(__file__).resolve().parent / "histories" / "automation_foreach.json"


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


async def record_history(env: WorkflowEnvironment, maker: async_sessionmaker[AsyncSession]) -> str:
    """Run the scenario above on ``env`` (time-skipping) against the database behind
    ``maker`` and return the foreach child's history as JSON. A worker must be polling the
    default task queue (the outbox starts the run there)."""
    suffix = uuid.uuid4().hex[:8]
    async with maker() as session, session.begin():
        created = await create_firm_with_owner(
            session,
            firm_name=f"Replay foreach {suffix}",
            slug=f"replay-foreach-{suffix}",
            owner_email=f"owner-foreach-{suffix}@example.com",
            owner_password=uuid.uuid4().hex,
        )
    firm_id, owner_id = created.firm.id, created.owner.id
    principal = Principal(firm_id=firm_id, user_id=owner_id, role=Role.owner, credential="script")
    with running_target() as target:
        async with tenant_session(firm_id, maker) as session:
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
        await dispatch_pending(maker, fixed_client(env.client), limit=len(ids), ids=ids)
        await result_skipping_time(env, env.client.get_workflow_handle(workflow_id(run.id)))
    child = env.client.get_workflow_handle(foreach.workflow_id(run.id, "each", 1))
    history = await child.fetch_history()
    return history.to_json() + "\n"


def events() -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = json.loads(HISTORY.read_text())["events"]
    return loaded


def replayer() -> Replayer:
    return Replayer(
        workflows=[AutomationForeachWorkflow],
        data_converter=pydantic_data_converter,
        workflow_runner=workflow_runner(),
    )


def test_the_history_covers_items_in_parallel_and_a_close() -> None:
    history = events()
    started = history[0]["workflowExecutionStartedEventAttributes"]
    assert started["workflowType"]["name"] == foreach.WORKFLOW_NAME
    activities = [
        e["activityTaskScheduledEventAttributes"]["activityType"]["name"]
        for e in history
        if "activityTaskScheduledEventAttributes" in e
    ]
    assert activities == [action_activity("http_request")] * 2
    assert "workflowExecutionCompletedEventAttributes" in history[-1]


async def test_saved_history_replays_without_nondeterminism() -> None:
    await replayer().replay_workflow(
        WorkflowHistory.from_json("automation_foreach", HISTORY.read_text())
    )


def _first_activity(history: list[dict[str, Any]]) -> dict[str, Any]:
    return next(
        e["activityTaskScheduledEventAttributes"]
        for e in history
        if "activityTaskScheduledEventAttributes" in e
    )


@pytest.mark.parametrize("field", ["activityType", "timer"])
async def test_replay_catches_a_history_the_code_would_not_produce(field: str) -> None:
    history = events()
    if field == "activityType":
        _first_activity(history)["activityType"]["name"] = "automation.http_request_v0"
    else:
        # A timer where the code schedules an activity.
        index = next(
            i for i, e in enumerate(history) if "activityTaskScheduledEventAttributes" in e
        )
        event = history[index]
        attributes = event.pop("activityTaskScheduledEventAttributes")
        event["eventType"] = "EVENT_TYPE_TIMER_STARTED"
        event["timerStartedEventAttributes"] = {
            "timerId": "1",
            "startToFireTimeout": "60s",
            "workflowTaskCompletedEventId": attributes["workflowTaskCompletedEventId"],
        }
    with pytest.raises(NondeterminismError):
        await replayer().replay_workflow(WorkflowHistory.from_json("tampered", {"events": history}))
