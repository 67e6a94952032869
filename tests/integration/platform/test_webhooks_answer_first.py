"""The endpoints other systems deliver to (Stripe's webhooks, automations' inbound
webhooks) answer as soon as the delivery is committed, and start its workflow after the
answer (api/deps.get_ingest_session); when the process stops in between, the committed
outbox row is started by the relay instead, so nothing is lost. Also what a delivery costs
before its answer (statements), and the batching of the fast path after the answers."""

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import event as sql_event
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import OutboxActivities
from core.config import Settings
from core.crypto import Cipher
from core.db import SystemPurpose, system_session, tenant_session
from core.principal import Principal
from core.temporal import LazyClient, fixed_client
from models import AutomationStatus, OutboxMessage
from services.automations import automations, inbound_webhooks
from services.billing import stripe_account
from services.billing.stripe_account import WebhookSecretFields, WebhookSecretsCreate
from services.billing.stripe_webhooks import signature_header
from services.outbox import writer as outbox
from services.outbox.dispatch import AfterAnswer
from tests.billing_factories import make_invoice
from tests.factories import Actor
from tests.integration.platform.outbox_target import TargetInput
from tests.stripe_api_server import event, invoice_metadata, payment_intent
from workflows.automation.run.contracts import workflow_id as run_workflow_id
from workflows.billing.stripe_event import contracts as stripe_event
from workflows.outbox.relay.contracts import OutboxRelayInput
from workflows.outbox.relay.workflow import OutboxRelayWorkflow

Maker = async_sessionmaker[AsyncSession]
SECRET = "whsec_" + "Q5r6S7t8" * 4
TIMEOUT = 60
ANSWERED = "answered"
TEMPORAL = "temporal"
DEFINITION = {
    "schema_version": 1,
    "trigger": {"type": "webhook"},
    "start": "done",
    "steps": {"done": {"type": "stop"}},
}


class ProcessStopped(Exception):
    """The process ends right after the answer has been sent."""


def recording_answers(app: ASGIApp, seen: list[str], *, stop: bool = False) -> ASGIApp:
    """``app`` noting in ``seen`` when its answer's last byte is sent, and with ``stop``
    going no further (as a process killed at that moment)."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        async def send_and_note(message: Message) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                seen.append(ANSWERED)
                if stop:
                    raise ProcessStopped

        await app(scope, receive, send_and_note)

    return wrapped


class RecordingTemporal(LazyClient):
    """The test server's client, noting in ``seen`` each time the API asks for it."""

    def __init__(self, settings: Settings, client: Client, seen: list[str]) -> None:
        super().__init__(settings, client=client)
        self.seen = seen

    async def __call__(self) -> Client:
        self.seen.append(TEMPORAL)
        return await super().__call__()


@asynccontextmanager
async def api(
    settings: Settings, maker: Maker, temporal: LazyClient, wrap: Callable[[ASGIApp], ASGIApp]
) -> AsyncIterator[AsyncClient]:
    from api.app import create_app

    app = create_app(settings, sessionmaker=maker, temporal=temporal)
    transport = ASGITransport(app=wrap(app), raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@dataclass(frozen=True)
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes
    # The id of the workflow the delivery starts, from the answer.
    workflow_id: Callable[[dict[str, Any]], str]
    # The statements it takes before its answer, at most (BEGIN and COMMIT aside).
    statements: int


async def stripe_delivery(settings: Settings, maker: Maker, actor: Actor) -> Delivery:
    """A signing secret and an open invoice of the firm, and a signed payment of it."""
    async with tenant_session(actor.firm.id, maker) as session:
        await stripe_account.add_webhook_secrets(
            session,
            Principal.system(actor.firm.id),
            Cipher.from_settings(settings),
            fields=WebhookSecretsCreate(secrets=[WebhookSecretFields(secret=SECRET)]),
        )
    async with maker() as session:
        invoice = await make_invoice(session, actor)
    payload = event(
        "payment_intent.succeeded",
        payment_intent(
            invoice_metadata(invoice.firm_id, invoice.id),
            amount=invoice.balance,
            currency=invoice.currency,
            intent_id=f"pi_{uuid.uuid4().hex[:20]}",
        ),
        created=int(time.time()),
    )
    body = json.dumps(payload).encode()
    return Delivery(
        path=f"/v1/webhooks/stripe/{actor.firm.id}",
        headers={
            "Stripe-Signature": signature_header([SECRET], int(time.time()), body),
            "Content-Type": "application/json",
        },
        body=body,
        workflow_id=lambda answer: stripe_event.workflow_id(actor.firm.id, answer["event_id"]),
        # Scope, secrets, then the invoice, the event and its outbox start in one.
        statements=3,
    )


async def inbound_delivery(settings: Settings, maker: Maker, actor: Actor) -> Delivery:
    """An active automation with a signed inbound URL, and a signed delivery to it."""
    principal = Principal.system(actor.firm.id)
    async with tenant_session(actor.firm.id, maker) as session:
        automation = await automations.create_automation(
            session, principal, fields=automations.AutomationFields(name="Intake"), draft=DEFINITION
        )
        await automations.publish(session, principal, automation.id)
        await automations.set_status(session, principal, automation.id, AutomationStatus.active)
        issued = await inbound_webhooks.issue_inbound_webhook(
            session, principal, Cipher.from_settings(settings), automation.id, signing=True
        )
    assert issued.signing_secret is not None
    body = b'{"invoice": "INV-7"}'
    webhook_id, now = f"msg_{uuid.uuid4().hex}", int(time.time())
    return Delivery(
        path=f"/v1/inbound-webhooks/{issued.token}",
        headers={
            "content-type": "application/json",
            "webhook-id": webhook_id,
            "webhook-timestamp": str(now),
            "webhook-signature": inbound_webhooks.sign(
                issued.signing_secret, webhook_id, now, body
            ),
        },
        body=body,
        workflow_id=lambda answer: run_workflow_id(uuid.UUID(answer["run_id"])),
        # System role, the URL's hook with its automation, back to the app role, scope, the
        # pinned version with the run this webhook-id started (none), run, firm's time zone,
        # outbox, audit.
        statements=9,
    )


DELIVERIES = {"stripe": stripe_delivery, "inbound-webhook": inbound_delivery}


@pytest.fixture(params=list(DELIVERIES))
async def delivery(
    request: pytest.FixtureRequest,
    settings: Settings,
    committing_sessionmaker: Maker,
    committed_owner: Actor,
) -> Delivery:
    make = DELIVERIES[request.param]
    return await make(settings, committing_sessionmaker, committed_owner)


async def pending_starts(maker: Maker, actor: Actor) -> list[OutboxMessage]:
    async with system_session(SystemPurpose.outbox_relay, maker) as session:
        rows = await session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.firm_id == actor.firm.id,
                OutboxMessage.kind == "start_workflow",
                OutboxMessage.dispatched_at.is_(None),
            )
        )
        return list(rows)


async def test_the_answer_is_sent_before_the_workflow_is_started(
    settings: Settings,
    committing_sessionmaker: Maker,
    committed_owner: Actor,
    temporal_env: WorkflowEnvironment,
    delivery: Delivery,
) -> None:
    seen: list[str] = []
    temporal = RecordingTemporal(settings, temporal_env.client, seen)
    wrap = partial(recording_answers, seen=seen)
    async with api(settings, committing_sessionmaker, temporal, wrap) as http:
        response = await http.post(delivery.path, content=delivery.body, headers=delivery.headers)

    assert response.status_code in (200, 202), response.text
    # The test transport returns once the app is done, background work included.
    assert seen == [ANSWERED, TEMPORAL]
    started = await temporal_env.client.get_workflow_handle(
        delivery.workflow_id(response.json())
    ).describe()
    assert started.status is WorkflowExecutionStatus.RUNNING
    assert await pending_starts(committing_sessionmaker, committed_owner) == []


async def test_a_delivery_answered_just_before_the_process_stops_is_started_by_the_relay(
    settings: Settings,
    committing_sessionmaker: Maker,
    committed_owner: Actor,
    temporal_env: WorkflowEnvironment,
    task_queue: str,
    delivery: Delivery,
) -> None:
    maker, client = committing_sessionmaker, temporal_env.client
    seen: list[str] = []
    wrap = partial(recording_answers, seen=seen, stop=True)
    async with api(settings, maker, RecordingTemporal(settings, client, seen), wrap) as http:
        response = await http.post(delivery.path, content=delivery.body, headers=delivery.headers)
    assert response.status_code in (200, 202), response.text
    assert seen == [ANSWERED]
    [pending] = await pending_starts(maker, committed_owner)
    assert pending.payload["workflow_id"] == delivery.workflow_id(response.json())
    assert (pending.attempts, pending.last_error) == (0, None)

    relay = OutboxActivities(maker, fixed_client(client))
    # Skipping time would only run the started workflows' timeouts out: nothing waits here.
    with temporal_env.auto_time_skipping_disabled():
        async with (
            Worker(
                client,
                task_queue=task_queue,
                workflows=[OutboxRelayWorkflow],
                activities=[relay.dispatch_pending],
            ),
            asyncio.timeout(TIMEOUT),
        ):
            passes = await client.execute_workflow(
                OutboxRelayWorkflow.run,
                OutboxRelayInput(max_passes=1),
                id=f"relay-{uuid.uuid4()}",
                task_queue=task_queue,
            )

    assert passes.dispatched >= 1
    assert await pending_starts(maker, committed_owner) == []
    started = await client.get_workflow_handle(pending.payload["workflow_id"]).describe()
    assert started.status is WorkflowExecutionStatus.RUNNING


async def test_a_delivery_takes_a_fixed_few_statements_before_its_answer(
    settings: Settings,
    engine: AsyncEngine,
    committing_sessionmaker: Maker,
    temporal_env: WorkflowEnvironment,
    delivery: Delivery,
) -> None:
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(" ".join(statement.split())[:80])

    temporal = RecordingTemporal(settings, temporal_env.client, seen)
    wrap = partial(recording_answers, seen=seen)
    sql_event.listen(engine.sync_engine, "before_cursor_execute", note)
    try:
        async with api(settings, committing_sessionmaker, temporal, wrap) as http:
            response = await http.post(
                delivery.path, content=delivery.body, headers=delivery.headers
            )
    finally:
        sql_event.remove(engine.sync_engine, "before_cursor_execute", note)

    assert response.status_code in (200, 202), response.text
    before_answer = seen[: seen.index(ANSWERED)]
    assert len(before_answer) <= delivery.statements, before_answer


async def test_messages_answered_during_a_pass_go_out_together_in_the_next(
    engine: AsyncEngine,
    committing_sessionmaker: Maker,
    committed_owner: Actor,
    temporal_env: WorkflowEnvironment,
    task_queue: str,
) -> None:
    maker, firm_id = committing_sessionmaker, committed_owner.firm.id
    ids: list[uuid.UUID] = []
    for message in [
        outbox.start_workflow(
            "TargetWorkflow",
            f"target-{uuid.uuid4()}",
            TargetInput(greeting="hi"),
            task_queue=task_queue,
        ),
        outbox.event("client.created", f"client.created:{uuid.uuid4()}"),
        outbox.event("client.created", f"client.created:{uuid.uuid4()}"),
    ]:
        async with tenant_session(firm_id, maker) as session:
            message_id = await outbox.enqueue_message(session, firm_id, message)
            outbox.pop_outbox_ids(session)
        assert message_id is not None
        ids.append(message_id)
    asked, release = asyncio.Event(), asyncio.Event()

    async def slow_temporal() -> Client:
        asked.set()
        await release.wait()
        return temporal_env.client

    passes: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if "SKIP LOCKED" in statement:
            passes.append(statement)

    after = AfterAnswer(maker, slow_temporal)
    sql_event.listen(engine.sync_engine, "before_cursor_execute", note)
    try:
        first = asyncio.create_task(after.dispatch([ids[0]]))
        await asked.wait()
        # Answered while the first pass waits on Temporal: both queue for the next pass.
        later = [asyncio.create_task(after.dispatch([message_id])) for message_id in ids[1:]]
        release.set()
        async with asyncio.timeout(TIMEOUT):
            await asyncio.gather(first, *later)
    finally:
        sql_event.remove(engine.sync_engine, "before_cursor_execute", note)

    assert len(passes) == 2
    async with system_session(SystemPurpose.outbox_relay, maker) as session:
        rows = await session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids)))
        assert all(row.dispatched_at is not None for row in rows)
