"""Saved histories of every workflow replay against today's code: a change that would
break executions already running fails here (version it with ``workflow.patched``)."""

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from workflows.registry import WORKFLOWS

HISTORIES = Path(__file__).resolve().parent / "histories"
EXPECTED = {
    "automation_debounce.json": "AutomationDebounceWorkflow",
    "automation_foreach.json": "AutomationForeachWorkflow",
    "automation_run.json": "AutomationRunWorkflow",
    "automation_run_waits.json": "AutomationRunWorkflow",
    "automation_schedule.json": "AutomationScheduleWorkflow",
    "client_import.json": "ClientImportWorkflow",
    "dunning.json": "DunningWorkflow",
    "outbox_relay.json": "OutboxRelayWorkflow",
    "payment_retry.json": "PaymentRetryWorkflow",
    "recurring_invoice.json": "RecurringInvoiceWorkflow",
    "stripe_event.json": "StripeEventWorkflow",
}


def replayer() -> Replayer:
    return Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter)


def test_every_workflow_has_a_saved_history() -> None:
    assert {path.name for path in HISTORIES.glob("*.json")} == set(EXPECTED)
    assert set(EXPECTED.values()) == {workflow.__name__ for workflow in WORKFLOWS}


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_saved_history_replays_without_nondeterminism(name: str) -> None:
    text = (HISTORIES / name).read_text()
    started = json.loads(text)["events"][0]["workflowExecutionStartedEventAttributes"]
    assert started["workflowType"]["name"] == EXPECTED[name]
    await replayer().replay_workflow(WorkflowHistory.from_json(f"replay-{name}", text))


def test_the_waits_history_covers_an_event_an_approval_and_a_call() -> None:
    events = json.loads((HISTORIES / "automation_run_waits.json").read_text())["events"]
    signals = [
        e["workflowExecutionSignaledEventAttributes"]["signalName"]
        for e in events
        if "workflowExecutionSignaledEventAttributes" in e
    ]
    activities = [
        e["activityTaskScheduledEventAttributes"]["activityType"]["name"]
        for e in events
        if "activityTaskScheduledEventAttributes" in e
    ]
    children = [e for e in events if "childWorkflowExecutionCompletedEventAttributes" in e]
    assert signals == ["event"]
    assert activities == [
        "automation.open_approval",
        "automation.close_approval",
        "automation.prepare_child_run",
    ]
    assert len(children) == 1
    assert "workflowExecutionCompletedEventAttributes" in events[-1]


async def test_replay_catches_a_history_the_code_would_not_produce() -> None:
    events = json.loads((HISTORIES / "client_import.json").read_text())
    scheduled = next(
        e["activityTaskScheduledEventAttributes"]
        for e in events["events"]
        if "activityTaskScheduledEventAttributes" in e
    )
    scheduled["activityType"]["name"] = "client_import.stage_v0"
    with pytest.raises(NondeterminismError):
        await replayer().replay_workflow(WorkflowHistory.from_json("tampered", events))
