"""The saved DunningWorkflow history replays against today's code.

``histories/dunning.json`` is one run recorded on the time-skipping server with the real
activities: a Berlin firm whose policy has a late fee at ``overdue-7`` and endless reminders;
the invoice email, due-soon and due-today sent; paused for ten days (overdue-3 skipped,
overdue-7 sent with the fee at Monday's opening on resume); a policy change; overdue-14
sent; then paid, which closed it (``record_history``, which tests/replay/regenerate.py
runs). A change to the workflow that would break executions in flight fails here: version
it with ``workflow.patched``."""

import json
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer, Worker
from temporalio.workflow import NondeterminismError

from tests.integration import test_dunning_workflow as scenario
from tests.mailbox import running_mailbox
from workflows.billing.dunning import contracts as dunning
from workflows.billing.dunning.contracts import PLAN_ACTIVITY
from workflows.billing.dunning.workflow import DunningWorkflow
from workflows.registry import workflow_runner

HISTORY = Path(__file__).resolve().parent / "histories" / "dunning.json"


async def record_history(env: WorkflowEnvironment, maker: async_sessionmaker[AsyncSession]) -> str:
    """Run the scenario above on ``env`` (time-skipping) against the database behind
    ``maker`` and return the history as JSON."""
    queue = f"replay-{uuid.uuid4()}"
    with running_mailbox() as box:
        activities = scenario.dunning_activities(maker, box)
        async with Worker(
            env.client,
            task_queue=queue,
            workflows=[DunningWorkflow],
            activities=[activities.plan, activities.send_step],
            workflow_runner=workflow_runner(),
        ):
            async with maker() as session:
                actor = await scenario.berlin_firm(session)
            await scenario.set_policy(
                maker, env, actor, late_fee_fixed=2_500, late_fee_step="overdue-7"
            )
            due = await scenario.wednesday_after(env, 14)
            invoice = await scenario.open_invoice(maker, actor, due)
            handle = await scenario.start(env, queue, actor, invoice)
            now = await env.get_current_time()
            await env.sleep(due + timedelta(days=1) - now.astimezone(scenario.BERLIN).date())
            await scenario.set_paused(maker, env, actor, paused=True, invoice=invoice)
            await scenario.until_state(handle, lambda a: a.paused)
            await env.sleep(timedelta(days=10))
            await scenario.set_paused(maker, env, actor, paused=False, invoice=invoice)
            await scenario.until_state(handle, lambda a: a.step_key == "overdue-7")
            await env.sleep(timedelta(days=3))
            await scenario.set_policy(maker, env, actor, endless_every_days=5)
            await scenario.until_state(handle, lambda a: a.step_key == "final-notice")
            await scenario.pay(maker, env, actor, invoice, 102_500)
            await handle.result()
            history = await handle.fetch_history()
    return history.to_json() + "\n"


def events() -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = json.loads(HISTORY.read_text())["events"]
    return loaded


def replayer() -> Replayer:
    return Replayer(workflows=[DunningWorkflow], data_converter=pydantic_data_converter)


def test_the_history_covers_every_signal_and_a_close() -> None:
    history = events()
    started = history[0]["workflowExecutionStartedEventAttributes"]
    assert started["workflowType"]["name"] == dunning.WORKFLOW_NAME
    signals = [
        e["workflowExecutionSignaledEventAttributes"]["signalName"]
        for e in history
        if "workflowExecutionSignaledEventAttributes" in e
    ]
    assert set(signals) == {
        dunning.PAUSE_CHANGED_SIGNAL,
        dunning.POLICY_CHANGED_SIGNAL,
        dunning.PAYMENT_RECEIVED_SIGNAL,
    }
    assert "workflowExecutionCompletedEventAttributes" in history[-1]


async def test_saved_history_replays_without_nondeterminism() -> None:
    await replayer().replay_workflow(WorkflowHistory.from_json("dunning", HISTORY.read_text()))


@pytest.mark.parametrize("field", ["activityType", "timer"])
async def test_replay_catches_a_history_the_code_would_not_produce(field: str) -> None:
    history = events()
    if field == "activityType":
        scheduled = next(
            e["activityTaskScheduledEventAttributes"]
            for e in history
            if "activityTaskScheduledEventAttributes" in e
        )
        assert scheduled["activityType"]["name"] == PLAN_ACTIVITY
        scheduled["activityType"]["name"] = "dunning.plan_v0"
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
