"""DunningWorkflow end to end on the time-skipping server: the real activities against
committed Postgres, emails through real SMTP (aiosmtpd) on loopback.

A firm in Europe/Berlin with the default business hours (09:00-17:00, Monday to Friday):
the timeline over sixty days (which emails, at which local times, the late fee once, the
escalation task and collections mark, endless reminders), stop on payment, pause and
resume (per invoice and per client), a policy change, continue-as-new, and the query."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.billing_dunning import DunningActivities
from core.db import tenant_session
from core.outbox_dispatch import dispatch_pending, pop_outbox_ids
from core.principal import Principal
from core.temporal import fixed_client
from models import Client, DunningReminder, Invoice, PaymentMethod, Task
from providers.email import SmtpEmailProvider
from services.billing import dunning_policy
from services.billing.payments import record_payment
from services.firms import create_firm_with_owner
from services.tokens import issue_api_token
from tests.billing_factories import make_invoice
from tests.factories import Actor
from tests.mailbox import Mailbox, running_mailbox
from workflows.billing.dunning import DunningWorkflow
from workflows.billing.dunning_contracts import (
    QUERY_NEXT_STEP,
    SEND_ACTIVITY,
    SIGNAL_PAUSE_CHANGED,
    DunningInput,
    DunningState,
    NextStep,
)
from workflows.registry import workflow_runner

BERLIN = ZoneInfo("Europe/Berlin")
SENDER = "Acme Billing <billing@firmflow>"
PUBLIC_URL = "https://app.firmflow.test"


async def berlin_firm(session: AsyncSession) -> Actor:
    suffix = uuid.uuid4().hex[:8]
    created = await create_firm_with_owner(
        session,
        firm_name=f"Kanzlei {suffix}",
        slug=f"kanzlei-{suffix}",
        owner_email=f"owner-{suffix}@example.com",
        owner_password=uuid.uuid4().hex,
        time_zone="Europe/Berlin",
        default_currency="EUR",
    )
    _, token = await issue_api_token(session, created.owner, "tests")
    await session.commit()
    return Actor(firm=created.firm, user=created.owner, token=token)


@pytest.fixture
async def actor(committing_sessionmaker: async_sessionmaker[AsyncSession]) -> Actor:
    async with committing_sessionmaker() as session:
        return await berlin_firm(session)


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with running_mailbox() as box:
        yield box


def dunning_activities(
    maker: async_sessionmaker[AsyncSession], mailbox: Mailbox
) -> DunningActivities:
    email = SmtpEmailProvider(host="127.0.0.1", port=mailbox.port, sender=SENDER)
    return DunningActivities(maker, email=email, public_url=PUBLIC_URL)


@pytest.fixture
async def worker(
    committing_sessionmaker: async_sessionmaker[AsyncSession],
    temporal_env: WorkflowEnvironment,
    task_queue: str,
    mailbox: Mailbox,
) -> AsyncIterator[Worker]:
    activities = dunning_activities(committing_sessionmaker, mailbox)
    async with Worker(
        temporal_env.client,
        task_queue=task_queue,
        workflows=[DunningWorkflow],
        activities=[activities.plan, activities.send_step],
        workflow_runner=workflow_runner(),
    ) as running:
        yield running


def owner(actor: Actor) -> Principal:
    return Principal.system(actor.firm.id)


async def set_policy(maker: async_sessionmaker[AsyncSession], actor: Actor, **changes: Any) -> None:
    doc = dunning_policy.DEFAULT_POLICY.model_dump(mode="json") | changes
    async with tenant_session(actor.firm.id, maker) as session:
        await dunning_policy.update_policy(
            session, owner(actor), doc=dunning_policy.validate_policy(doc)
        )


async def wednesday_after(env: WorkflowEnvironment, days: int) -> date:
    """The first Wednesday at least ``days`` after the server's today in Berlin: a due
    date whose steps fall on known weekdays."""
    day = (await env.get_current_time()).astimezone(BERLIN).date() + timedelta(days=days)
    return day + timedelta(days=(2 - day.weekday()) % 7)


async def open_invoice(
    maker: async_sessionmaker[AsyncSession], actor: Actor, due: date, amount: int = 100_000
) -> Invoice:
    async with maker() as session:
        return await make_invoice(session, actor, lines=((1, amount),), due_date=due)


async def start(
    env: WorkflowEnvironment, task_queue: str, actor: Actor, invoice: Invoice, **extra: Any
) -> WorkflowHandle[Any, Any]:
    return await env.client.start_workflow(
        DunningWorkflow.run,
        DunningInput(firm_id=actor.firm.id, invoice_id=invoice.id, **extra),
        id=f"dunning-{invoice.id}",
        task_queue=task_queue,
    )


async def pay(
    maker: async_sessionmaker[AsyncSession],
    env: WorkflowEnvironment,
    actor: Actor,
    invoice: Invoice,
    amount: int,
) -> None:
    """Record a payment through the payments service and carry out what it queued (the
    payment_received signal) the way the API's fast path does."""
    async with tenant_session(actor.firm.id, maker) as session:
        await record_payment(
            session,
            owner(actor),
            invoice_id=invoice.id,
            amount=amount,
            currency=invoice.currency,
            method=PaymentMethod.bank_transfer,
            received_on=date.today(),
        )
        ids = pop_outbox_ids(session)
    await dispatch_pending(maker, fixed_client(env.client), limit=len(ids), ids=ids)


async def set_paused(
    maker: async_sessionmaker[AsyncSession],
    env: WorkflowEnvironment,
    handle: WorkflowHandle[Any, Any],
    actor: Actor,
    model: type[Invoice] | type[Client],
    record_id: uuid.UUID,
    paused: bool,
) -> None:
    async with tenant_session(actor.firm.id, maker) as session:
        await session.execute(
            update(model).where(model.id == record_id).values(dunning_paused=paused)
        )
    await handle.signal(SIGNAL_PAUSE_CHANGED)


def sent_subjects(mailbox: Mailbox) -> list[str]:
    return [str(message["Subject"]) for message in mailbox.messages]


async def sends(handle: WorkflowHandle[Any, Any]) -> list[tuple[str, datetime]]:
    """Each send activity the workflow scheduled: its step and the workflow's time then
    (the history's clock is the test server's, which skips ahead)."""
    history = await handle.fetch_history()
    found = []
    for event in history.events:
        attributes = event.activity_task_scheduled_event_attributes
        if event.HasField("activity_task_scheduled_event_attributes") and (
            attributes.activity_type.name == SEND_ACTIVITY
        ):
            payload = json.loads(attributes.input.payloads[0].data)
            found.append((payload["step"]["key"], event.event_time.ToDatetime(tzinfo=UTC)))
    return found


async def reminders(
    maker: async_sessionmaker[AsyncSession], actor: Actor, invoice: Invoice
) -> dict[str, str]:
    async with tenant_session(actor.firm.id, maker) as session:
        rows = await session.execute(
            select(DunningReminder.step_key, DunningReminder.outcome).where(
                DunningReminder.invoice_id == invoice.id
            )
        )
        return {key: outcome for key, outcome in rows.tuples()}


async def reload(
    maker: async_sessionmaker[AsyncSession], actor: Actor, invoice: Invoice
) -> Invoice:
    async with tenant_session(actor.firm.id, maker) as session:
        return await session.get_one(Invoice, invoice.id)


async def client_of(
    maker: async_sessionmaker[AsyncSession], actor: Actor, invoice: Invoice
) -> Client:
    async with tenant_session(actor.firm.id, maker) as session:
        return await session.get_one(Client, invoice.client_id)


async def query(handle: WorkflowHandle[Any, Any]) -> NextStep:
    answer: NextStep = await handle.query(QUERY_NEXT_STEP, result_type=NextStep)
    return answer


async def until_state(handle: WorkflowHandle[Any, Any], check: Any) -> NextStep:
    """Polls the query (bounded) until ``check`` holds; time stays locked meanwhile."""
    for _ in range(500):
        answer = await query(handle)
        if check(answer):
            return answer
        await asyncio.sleep(0.02)
    raise AssertionError(f"the workflow never reached the expected state: {answer}")


def local(moment: datetime) -> tuple[date, str]:
    value = moment.astimezone(BERLIN)
    return value.date(), value.strftime("%H:%M")


async def test_sixty_day_timeline_in_business_hours_with_one_late_fee(
    committing_sessionmaker: async_sessionmaker[AsyncSession],
    temporal_env: WorkflowEnvironment,
    task_queue: str,
    worker: Worker,
    mailbox: Mailbox,
    actor: Actor,
) -> None:
    maker = committing_sessionmaker
    await set_policy(
        maker, actor, late_fee_fixed=2_500, late_fee_step="overdue-7", endless_every_days=10
    )
    due = await wednesday_after(temporal_env, 14)
    invoice = await open_invoice(maker, actor, due)
    started = await temporal_env.get_current_time()
    handle = await start(temporal_env, task_queue, actor, invoice)

    # Sixty days: past the escalation (+30) and the first endless reminder (+40).
    await temporal_env.sleep(due + timedelta(days=45) - started.astimezone(BERLIN).date())
    await pay(maker, temporal_env, actor, invoice, 102_500)
    result = await handle.result()
    assert result.state == DunningState.closed

    timeline = [(key, local(at)) for key, at in await sends(handle)]
    nine = "09:00"
    assert timeline[0] == ("invoice", local(started))
    assert timeline[1:] == [
        ("due-soon", (due - timedelta(days=2), nine)),  # Sunday -> Monday
        ("due-today", (due, nine)),
        ("overdue-3", (due + timedelta(days=5), nine)),  # Saturday -> Monday
        ("overdue-7", (due + timedelta(days=7), nine)),
        ("overdue-14", (due + timedelta(days=14), nine)),
        ("final-notice", (due + timedelta(days=21), nine)),
        ("escalation", (due + timedelta(days=30), nine)),  # a Friday
        ("endless-1", (due + timedelta(days=40), nine)),  # a Monday
    ]

    subjects = sent_subjects(mailbox)
    number = invoice.number
    assert subjects == [
        f"Invoice {number} from {actor.firm.name}",
        f"Invoice {number} is due soon",
        f"Invoice {number} is due today",
        f"Reminder: invoice {number} is overdue",
        f"Second reminder: invoice {number} is overdue",
        f"Third reminder: invoice {number} is overdue",
        f"Final notice: invoice {number}",
        f"Final notice: invoice {number}",
    ]
    client = await client_of(maker, actor, invoice)
    assert all(r == [client.email] for r in mailbox.recipients)
    assert mailbox.messages[3]["Message-ID"] == f"<dunning-{invoice.id}-overdue-3@firmflow>"
    # The fee is added once, at the +7 reminder, and shows from there on.
    assert "Balance: 1,000.00 EUR" in mailbox.body(3).splitlines()
    assert "Balance: 1,025.00 EUR (including a late fee of 25.00 EUR)" in mailbox.body(4)
    assert "Balance: 1,025.00 EUR (including a late fee of 25.00 EUR)" in mailbox.body(7)
    assert "40 days overdue" in mailbox.body(7)
    assert f"{PUBLIC_URL}/pay/{invoice.id}" in mailbox.body(1)

    final = await reload(maker, actor, invoice)
    assert (final.late_fee, final.total, final.status) == (2_500, 102_500, "paid")
    assert final.in_collections
    async with tenant_session(actor.firm.id, maker) as session:
        titles = list(
            await session.scalars(select(Task.title).where(Task.client_id == final.client_id))
        )
    assert titles == [f"Collect invoice {number} ({client.name})"]
    assert await reminders(maker, actor, invoice) == {
        "invoice": "sent",
        "due-soon": "sent",
        "due-today": "sent",
        "overdue-3": "sent",
        "overdue-7": "sent",
        "overdue-14": "sent",
        "final-notice": "sent",
        "escalation": "escalated",
        "endless-1": "sent",
    }
