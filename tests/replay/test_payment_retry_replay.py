"""The saved PaymentRetryWorkflow history replays against today's code.

``histories/payment_retry.json`` is one run recorded on the time-skipping server with the
real activity against Postgres and the fake card provider (``record_history``, which
tests/replay/regenerate.py runs): an open invoice whose client has a saved card, the first
two tries (1 and 2 days after the failure) declined, the third (day 3) charged and
recorded, which closed it as paid. A change to the workflow that would break executions in
flight fails here: version it with ``workflow.patched``."""

import pytest
from cryptography.fernet import Fernet
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker
from temporalio.workflow import NondeterminismError

from activities.billing_stripe import StripeActivities
from core.crypto import Cipher
from core.db import tenant_session
from core.principal import Principal
from core.temporal import fixed_client
from providers.payments import ChargeRequest
from services.billing import stripe_account
from services.billing.stripe_account import SecretKeyFields
from tests.factories import Actor, make_firm
from tests.fake_payments import FakePaymentProvider
from tests.fixtures.temporal import payload_text
from tests.integration.billing import test_payment_retry as scenario
from tests.replay.recording import (
    HISTORIES,
    Maker,
    activity_as_timer,
    activity_names,
    events,
    first_activity,
    history_json,
    own_queue,
    recording_worker,
    replay_saved,
    replay_tampered,
    started_type,
)
from workflows.billing.payment_retry import contracts as payment_retry
from workflows.billing.payment_retry.contracts import PaymentRetryInput
from workflows.billing.payment_retry.workflow import PaymentRetryWorkflow
from workflows.billing.stripe_event.workflow import StripeEventWorkflow

HISTORY = HISTORIES / "payment_retry.json"
DECLINED_TRIES = 2


async def stripe_firm(maker: Maker, cipher: Cipher) -> Actor:
    """A committed firm with a Stripe secret key stored under ``cipher``."""
    async with maker() as session:
        actor = await make_firm(session, "Replay Stripe")
    async with tenant_session(actor.firm.id, maker) as session:
        await stripe_account.set_secret_key(
            session,
            Principal.system(actor.firm.id),
            cipher,
            fields=SecretKeyFields(secret_key="sk_test_" + "replay" * 4),
        )
    return actor


def stripe_worker(
    env: WorkflowEnvironment,
    maker: Maker,
    queue: str,
    cipher: Cipher,
    provider: FakePaymentProvider,
) -> Worker:
    activities = StripeActivities(
        maker, fixed_client(env.client), cipher=cipher, providers=provider.for_key
    )
    return recording_worker(
        env,
        queue,
        [PaymentRetryWorkflow, StripeEventWorkflow],
        [activities.retry_payment, activities.apply_event],
    )


async def record_history(env: WorkflowEnvironment, maker: Maker) -> str:
    """Run the scenario above on ``env`` (time-skipping) against the database behind
    ``maker`` and return the history as JSON."""
    queue = own_queue()
    cipher = Cipher([Fernet.generate_key().decode()])
    provider = FakePaymentProvider()

    def decline(request: ChargeRequest) -> bool:
        return request.attempt <= DECLINED_TRIES

    provider.decline = decline
    actor = await stripe_firm(maker, cipher)
    invoice = await scenario.owed_invoice(maker, actor)
    async with stripe_worker(env, maker, queue, cipher, provider):
        handle = await env.client.start_workflow(
            PaymentRetryWorkflow.run,
            PaymentRetryInput(
                firm_id=actor.firm.id,
                invoice_id=invoice.id,
                failed_at=await env.get_current_time(),
            ),
            id=payment_retry.workflow_id(invoice.id),
            task_queue=queue,
        )
        result = await handle.result()
        assert (result.status, result.tries) == ("paid", DECLINED_TRIES + 1)
        return await history_json(handle)


def test_the_history_covers_declined_tries_then_a_paid_one() -> None:
    history = events(HISTORY)
    assert started_type(history) == payment_retry.WORKFLOW_NAME
    timers = [e for e in history if "timerStartedEventAttributes" in e]
    assert activity_names(history) == [payment_retry.RETRY_PAYMENT_ACTIVITY] * (DECLINED_TRIES + 1)
    assert len(timers) == DECLINED_TRIES + 1
    outcomes = [
        payload_text(e["activityTaskCompletedEventAttributes"])
        for e in history
        if "activityTaskCompletedEventAttributes" in e
    ]
    assert ['"status":"failed"' in o for o in outcomes] == [True] * DECLINED_TRIES + [False]
    assert '"status":"succeeded"' in outcomes[-1]
    completed = history[-1]["workflowExecutionCompletedEventAttributes"]
    assert '"status":"paid"' in payload_text(completed)


async def test_saved_history_replays_without_nondeterminism() -> None:
    await replay_saved([PaymentRetryWorkflow], HISTORY)


@pytest.mark.parametrize("field", ["activityType", "timer"])
async def test_replay_catches_a_history_the_code_would_not_produce(field: str) -> None:
    history = events(HISTORY)
    if field == "activityType":
        scheduled = first_activity(history)
        assert scheduled["activityType"]["name"] == payment_retry.RETRY_PAYMENT_ACTIVITY
        scheduled["activityType"]["name"] = "billing.retry_payment_v0"
    else:
        # A timer where the code charges the card.
        activity_as_timer(history, timer_id="99")
    with pytest.raises(NondeterminismError):
        await replay_tampered([PaymentRetryWorkflow], history)
