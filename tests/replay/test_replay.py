"""Saved histories of every workflow replay against today's code: a change that would
break executions already running fails here (version it with ``workflow.patched``)."""

import json

import pytest
from temporalio.workflow import NondeterminismError

from tests.replay.recording import (
    HISTORIES,
    activity_names,
    events,
    first_activity,
    replay,
    replay_tampered,
    signal_names,
)
from workflows.registry import WORKFLOWS

EXPECTED = {
    "automation_debounce.json": "AutomationDebounceWorkflow",
    "automation_foreach.json": "AutomationForeachWorkflow",
    "automation_run.json": "AutomationRunWorkflow",
    "automation_run_local.json": "AutomationRunWorkflow",
    "automation_run_waits.json": "AutomationRunWorkflow",
    "automation_schedule.json": "AutomationScheduleWorkflow",
    "client_import.json": "ClientImportWorkflow",
    "document_review.json": "DocumentReviewWorkflow",
    "document_text.json": "DocumentTextWorkflow",
    "dunning.json": "DunningWorkflow",
    "envelope.json": "EnvelopeWorkflow",
    "invoice_pdf.json": "InvoicePdfWorkflow",
    "outbox_relay.json": "OutboxRelayWorkflow",
    "payment_retry.json": "PaymentRetryWorkflow",
    "recurring_invoice.json": "RecurringInvoiceWorkflow",
    "retention_sweep.json": "RetentionSweepWorkflow",
    "stripe_event.json": "StripeEventWorkflow",
}


def test_every_workflow_has_a_saved_history() -> None:
    assert {path.name for path in HISTORIES.glob("*.json")} == set(EXPECTED)
    assert set(EXPECTED.values()) == {workflow.__name__ for workflow in WORKFLOWS}


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_saved_history_replays_without_nondeterminism(name: str) -> None:
    text = (HISTORIES / name).read_text()
    started = json.loads(text)["events"][0]["workflowExecutionStartedEventAttributes"]
    assert started["workflowType"]["name"] == EXPECTED[name]
    await replay(WORKFLOWS, f"replay-{name}", text)


def test_the_waits_history_covers_an_event_an_approval_and_a_call() -> None:
    history = events(HISTORIES / "automation_run_waits.json")
    children = [e for e in history if "childWorkflowExecutionCompletedEventAttributes" in e]
    assert signal_names(history) == ["event"]
    assert activity_names(history) == [
        "automation.open_approval",
        "automation.close_approval",
        "automation.prepare_child_run",
    ]
    assert len(children) == 1
    assert "workflowExecutionCompletedEventAttributes" in history[-1]


async def test_replay_catches_a_history_the_code_would_not_produce() -> None:
    history = events(HISTORIES / "client_import.json")
    first_activity(history)["activityType"]["name"] = "client_import.stage_v0"
    with pytest.raises(NondeterminismError):
        await replay_tampered(WORKFLOWS, history)


def test_the_local_history_ran_its_short_steps_as_local_activities() -> None:
    history = events(HISTORIES / "automation_run_local.json")
    markers = [
        e["markerRecordedEventAttributes"]["markerName"]
        for e in history
        if "markerRecordedEventAttributes" in e
    ]
    assert activity_names(history) == []
    # The HTTP call, the task and finish_run.
    assert markers == ["core_local_activity"] * 3
    assert "workflowExecutionCompletedEventAttributes" in history[-1]
