"""The saved DunningWorkflow history replays against today's code.

``histories/dunning.json`` is one run recorded on the time-skipping server with the real
activities: a Berlin firm whose policy has a late fee at ``overdue-7`` and endless reminders;
the invoice email, due-soon and due-today sent; paused for ten days (overdue-3 skipped,
overdue-7 sent with the fee at Monday's opening on resume); a policy change; overdue-14
sent; then paid, which closed it (``record_history``, which tests/replay/regenerate.py
runs). A change to the workflow that would break executions in flight fails here: version
it with ``workflow.patched``."""

from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.factories import berlin_firm
from tests.integration.billing import test_dunning_workflow as scenario
from tests.mailbox import running_mailbox
from tests.replay.recording import (
    HISTORIES,
    Maker,
    assert_tampering_caught,
    events,
    history_json,
    own_queue,
    recording_worker,
    replay_saved,
    signal_names,
    started_type,
)
from workflows.billing.dunning import contracts as dunning
from workflows.billing.dunning.workflow import DunningWorkflow

HISTORY = HISTORIES / "dunning.json"


async def record_history(env: WorkflowEnvironment, maker: Maker) -> str:
    """Run the scenario above on ``env`` (time-skipping) against the database behind
    ``maker`` and return the history as JSON."""
    queue = own_queue()
    with running_mailbox() as box:
        activities = scenario.dunning_activities(maker, box)
        async with recording_worker(
            env, queue, [DunningWorkflow], [activities.plan, activities.send_step]
        ):
            async with maker() as session:
                actor = await berlin_firm(session)
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
            return await history_json(handle)


def test_the_history_covers_every_signal_and_a_close() -> None:
    history = events(HISTORY)
    assert started_type(history) == dunning.WORKFLOW_NAME
    assert set(signal_names(history)) == {
        dunning.PAUSE_CHANGED_SIGNAL,
        dunning.POLICY_CHANGED_SIGNAL,
        dunning.PAYMENT_RECEIVED_SIGNAL,
    }
    assert "workflowExecutionCompletedEventAttributes" in history[-1]


async def test_saved_history_replays_without_nondeterminism() -> None:
    await replay_saved([DunningWorkflow], HISTORY)


@pytest.mark.parametrize("field", ["activityType", "timer"])
async def test_replay_catches_a_history_the_code_would_not_produce(field: str) -> None:
    await assert_tampering_caught(
        [DunningWorkflow], HISTORY, field, first_activity_name=dunning.PLAN_ACTIVITY
    )
