"""The saved RecurringInvoiceWorkflow history replays against today's code.

``histories/recurring_invoice.json`` is the first run of a recurring invoice recorded on
the time-skipping server with the real activities (``record_history``): a daily 09:00
Berlin schedule planned, paused before its first occurrence (two daily re-checks while
paused), resumed, the next occurrence slept to and invoiced, then continue-as-new. A
change to the workflow that would break executions in flight fails here: version it with
``workflow.patched``."""

from datetime import datetime, time, timedelta

import pytest
from temporalio.testing import WorkflowEnvironment
from temporalio.workflow import NondeterminismError

from models import RecurringStatus
from services.billing import recurring
from tests.factories import make_firm
from tests.integration.billing import test_recurring_workflow as scenario
from tests.replay.recording import (
    HISTORIES,
    Maker,
    activity_names,
    events,
    first_activity,
    history_json,
    own_queue,
    replay_saved,
    replay_tampered,
    signal_names,
    started_type,
)
from workflows.billing.recurring import contracts as recurring_contracts
from workflows.billing.recurring.workflow import RecurringInvoiceWorkflow

HISTORY = HISTORIES / "recurring_invoice.json"


async def record_history(env: WorkflowEnvironment, maker: Maker) -> str:
    """Run the scenario above on ``env`` (time-skipping) against the database behind
    ``maker`` and return the first run's history as JSON."""
    queue = own_queue()
    async with maker() as session:
        actor = await make_firm(session)
    now = await env.get_current_time()
    first = now.astimezone(scenario.BERLIN).date() + timedelta(days=1)
    created, _ = await scenario.create_recurring(
        maker,
        actor,
        rrule="FREQ=DAILY",
        starts_at_local=datetime.combine(first, time(9)),
    )
    async with scenario.running_worker(env, maker, queue):
        handle = await scenario.start(env, queue, actor, created)
        await scenario.until(env, created, lambda v: v.next is not None)
        await scenario.act(
            maker,
            env,
            actor,
            lambda s, p: recurring.set_status(s, p, created.id, target=RecurringStatus.paused),
        )
        await scenario.until(env, created, lambda v: v.status == "paused")
        await env.sleep(timedelta(days=2, hours=12))
        await scenario.act(
            maker,
            env,
            actor,
            lambda s, p: recurring.set_status(s, p, created.id, target=RecurringStatus.active),
        )
        view = await scenario.until(env, created, lambda v: v.next is not None)
        assert view.next is not None
        await env.sleep(view.next.at - await env.get_current_time() + timedelta(minutes=1))
        await scenario.until(env, created, lambda v: v.last_occurrence_date is not None)
        first_run = env.client.get_workflow_handle(handle.id, run_id=handle.first_execution_run_id)
        text = await history_json(first_run)
        latest = env.client.get_workflow_handle(recurring_contracts.workflow_id(created.id))
        await latest.terminate("recorded")
    return text


def test_the_history_covers_pause_resume_an_occurrence_and_continue_as_new() -> None:
    history = events(HISTORY)
    assert started_type(history) == recurring_contracts.WORKFLOW_NAME
    assert signal_names(history) == [
        recurring_contracts.PAUSED_SIGNAL,
        recurring_contracts.RESUMED_SIGNAL,
    ]
    activities = activity_names(history)
    assert (
        activities[-1] == recurring_contracts.CREATE_ACTIVITY
        and activities.count(recurring_contracts.CREATE_ACTIVITY) == 1
    )
    assert "workflowExecutionContinuedAsNewEventAttributes" in history[-1]


async def test_saved_history_replays_without_nondeterminism() -> None:
    await replay_saved([RecurringInvoiceWorkflow], HISTORY)


async def test_replay_catches_a_history_the_code_would_not_produce() -> None:
    history = events(HISTORY)
    scheduled = first_activity(history)
    assert scheduled["activityType"]["name"] == recurring_contracts.PLAN_ACTIVITY
    scheduled["activityType"]["name"] = "recurring_invoice.plan_v0"
    with pytest.raises(NondeterminismError):
        await replay_tampered([RecurringInvoiceWorkflow], history)
