"""The saved StripeEventWorkflow history replays against today's code.

``histories/stripe_event.json`` is one run recorded on the time-skipping server with the
real activity against Postgres (``record_history``, which tests/replay/regenerate.py runs):
a signed ``payment_intent.succeeded`` delivery for an open invoice verified and stored by
the webhook service, the workflow its outbox message names started, the event applied
once (the payment recorded, the invoice paid). A change to the workflow that would break
executions in flight fails here: version it with ``workflow.patched``."""

import json
import uuid

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment
from temporalio.workflow import NondeterminismError

from core.crypto import Cipher
from core.db import tenant_session
from core.principal import Principal
from models import Invoice, OutboxMessage
from services.billing import stripe_account, stripe_webhooks
from services.billing.stripe_account import WebhookSecretFields, WebhookSecretsCreate
from services.outbox.writer import pop_outbox_ids
from tests.billing_factories import make_invoice
from tests.fake_payments import FakePaymentProvider
from tests.fixtures.temporal import payload_text
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
    started_type,
)
from tests.replay.test_payment_retry_replay import stripe_firm, stripe_worker
from tests.stripe_api_server import event, invoice_metadata, payment_intent
from workflows.billing.stripe_event import contracts as stripe_event
from workflows.billing.stripe_event.workflow import StripeEventWorkflow

HISTORY = HISTORIES / "stripe_event.json"
SECRET = "whsec_" + "replay" * 4
TOTAL = 18_000


async def record_history(env: WorkflowEnvironment, maker: Maker) -> str:
    """Run the scenario above on ``env`` (time-skipping) against the database behind
    ``maker`` and return the history as JSON."""
    queue = own_queue()
    cipher = Cipher([Fernet.generate_key().decode()])
    actor = await stripe_firm(maker, cipher)
    now = await env.get_current_time()
    async with tenant_session(actor.firm.id, maker) as session:
        await stripe_account.add_webhook_secrets(
            session,
            Principal.system(actor.firm.id),
            cipher,
            fields=WebhookSecretsCreate(secrets=[WebhookSecretFields(secret=SECRET)]),
            now=now,
        )
    async with maker() as session:
        invoice = await make_invoice(session, actor, lines=((1, TOTAL),))
    intent = payment_intent(
        invoice_metadata(actor.firm.id, invoice.id),
        amount=TOTAL,
        currency=invoice.currency,
        intent_id=f"pi_{uuid.uuid4().hex[:16]}",
    )
    body = json.dumps(
        event("payment_intent.succeeded", intent, created=int(now.timestamp()))
    ).encode()
    async with maker() as session, session.begin():
        receipt = await stripe_webhooks.receive(
            session,
            cipher,
            str(actor.firm.id),
            body=body,
            signature=stripe_webhooks.signature_header([SECRET], int(now.timestamp()), body),
            now=now,
        )
        # Not dispatched: the outbox would start it on the application's queue, this
        # worker polls its own. The message's own workflow name, id and input start it.
        [start] = (
            await session.scalars(
                select(OutboxMessage).where(OutboxMessage.id.in_(pop_outbox_ids(session)))
            )
        ).all()
    assert receipt.new
    queued = start.payload
    async with stripe_worker(env, maker, queue, cipher, FakePaymentProvider()):
        handle = await env.client.start_workflow(
            queued["workflow"], queued["arg"], id=queued["workflow_id"], task_queue=queue
        )
        await handle.result()
        text = await history_json(handle)
    async with tenant_session(actor.firm.id, maker) as session:
        paid = await session.get(Invoice, invoice.id)
    assert paid is not None and (paid.status, paid.balance) == ("paid", 0)
    return text


def test_the_history_applies_one_event() -> None:
    history = events(HISTORY)
    assert started_type(history) == stripe_event.WORKFLOW_NAME
    assert activity_names(history) == [stripe_event.APPLY_ACTIVITY]
    completed = history[-1]["workflowExecutionCompletedEventAttributes"]
    assert '"status":"processed"' in payload_text(completed)


async def test_saved_history_replays_without_nondeterminism() -> None:
    await replay_saved([StripeEventWorkflow], HISTORY)


async def test_replay_catches_a_history_the_code_would_not_produce() -> None:
    history = events(HISTORY)
    scheduled = first_activity(history)
    assert scheduled["activityType"]["name"] == stripe_event.APPLY_ACTIVITY
    scheduled["activityType"]["name"] = "billing.apply_stripe_event_v0"
    with pytest.raises(NondeterminismError):
        await replay_tampered([StripeEventWorkflow], history)
