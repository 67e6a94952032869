"""DunningWorkflow end to end on the time-skipping server: the real activities against
committed Postgres, emails through real SMTP (aiosmtpd) on loopback.

A firm in Europe/Berlin with the default business hours (09:00-17:00, Monday to Friday):
the timeline over sixty days (which emails, at which local times, the late fee once, the
escalation task and collections mark, endless reminders), stop on payment, pause and
resume (per invoice and per client), a policy change, continue-as-new, and the query."""

import asyncio
import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.billing_dunning import DunningActivities
from activities.unit_of_work import firm_transaction
from core.db import tenant_session
from core.principal import Principal
from core.temporal import fixed_client
from models import (
    Client,
    DunningReminder,
    Invoice,
    InvoiceStatus,
    OutboxMessage,
    PaymentMethod,
    Task,
)
from providers.email import SmtpEmailProvider
from services.billing import dunning, dunning_policy, invoices
from services.billing.pay_links import PayLinks
from services.billing.payments import record_payment
from services.billing.settings import SettingsPatch, update_settings
from services.clients import create_client, validate_client_fields
from services.outbox.dispatch import dispatch_pending
from services.outbox.writer import pop_outbox_ids
from tests.billing_factories import make_invoice
from tests.factories import Actor
from tests.mailbox import Mailbox
from workflows.billing.dunning import contracts as dunning_contracts
from workflows.billing.dunning.contracts import (
    DunningInput,
    DunningState,
    NextStep,
    Plan,
    PlanInput,
    PlannedStep,
    SendInput,
    SendOutcome,
    SendResult,
)
from workflows.billing.dunning.workflow import DunningWorkflow
from workflows.registry import workflow_runner

BERLIN = ZoneInfo("Europe/Berlin")
SENDER = "Acme Billing <billing@firmflow>"
PUBLIC_URL = "https://app.firmflow.test"
PAY_LINKS = PayLinks(keys=(b"pay link key for the dunning tests",), public_url=PUBLIC_URL)


def smtp(mailbox: Mailbox) -> SmtpEmailProvider:
    return SmtpEmailProvider(host="127.0.0.1", port=mailbox.port, sender=SENDER)


def mailer_for(mailbox: Mailbox) -> dunning.Mailer:
    return dunning.Mailer(email=smtp(mailbox), links=PAY_LINKS)


async def send_step(
    maker: async_sessionmaker[AsyncSession], mailer: dunning.Mailer, request: SendInput
) -> SendResult:
    """What the send activity does: one transaction of the invoice's firm."""
    async with firm_transaction(maker, request.firm_id) as session:
        return await dunning.send_step(session, mailer, request)


def dunning_activities(
    maker: async_sessionmaker[AsyncSession], mailbox: Mailbox
) -> DunningActivities:
    return DunningActivities(maker, email=smtp(mailbox), pay_links=PAY_LINKS)


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


async def set_policy(
    maker: async_sessionmaker[AsyncSession],
    env: WorkflowEnvironment | None,
    actor: Actor,
    **changes: Any,
) -> None:
    """Replace the policy; with ``env``, carry out the policy_changed signals it queued."""
    doc = dunning_policy.DEFAULT_POLICY.model_dump(mode="json") | changes
    async with tenant_session(actor.firm.id, maker) as session:
        await dunning_policy.update_policy(
            session, owner(actor), doc=dunning_policy.validate_policy(doc)
        )
        ids = pop_outbox_ids(session)
    if env is not None:
        await dispatch_pending(maker, fixed_client(env.client), limit=len(ids), ids=ids)


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
    actor: Actor,
    *,
    paused: bool,
    invoice: Invoice | None = None,
    client: Client | None = None,
) -> None:
    """Pause or resume through the dunning service, then carry out the signals it queued."""
    async with tenant_session(actor.firm.id, maker) as session:
        if invoice is not None:
            await dunning.set_invoice_paused(session, owner(actor), invoice.id, paused=paused)
        if client is not None:
            await dunning.set_client_paused(session, owner(actor), client.id, paused=paused)
        ids = pop_outbox_ids(session)
    await dispatch_pending(maker, fixed_client(env.client), limit=len(ids), ids=ids)


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
            attributes.activity_type.name == dunning_contracts.SEND_ACTIVITY
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
    answer: NextStep = await handle.query(dunning_contracts.NEXT_STEP_QUERY, result_type=NextStep)
    return answer


async def until_state(handle: WorkflowHandle[Any, Any], check: Any) -> NextStep:
    """Polls the query (bounded) until ``check`` holds; time stays locked meanwhile."""
    for _ in range(500):
        answer = await query(handle)
        if check(answer):
            return answer
        await asyncio.sleep(0.02)
    raise AssertionError(f"the workflow never reached the expected state: {answer}")


def nine_in_berlin(day: date) -> str:
    """09:00 on ``day`` in Berlin as ISO 8601, with that day's offset (+01:00 or +02:00)."""
    return datetime.combine(day, time(9), BERLIN).isoformat()


def local(moment: datetime) -> tuple[date, str]:
    value = moment.astimezone(BERLIN)
    return value.date(), value.strftime("%H:%M")


async def test_sixty_day_timeline_in_business_hours_with_one_late_fee(
    committing_sessionmaker: async_sessionmaker[AsyncSession],
    temporal_env: WorkflowEnvironment,
    task_queue: str,
    worker: Worker,
    mailbox: Mailbox,
    berlin_owner: Actor,
) -> None:
    maker = committing_sessionmaker
    await set_policy(
        maker,
        temporal_env,
        berlin_owner,
        late_fee_fixed=2_500,
        late_fee_step="overdue-7",
        endless_every_days=10,
    )
    due = await wednesday_after(temporal_env, 14)
    invoice = await open_invoice(maker, berlin_owner, due)
    started = await temporal_env.get_current_time()
    handle = await start(temporal_env, task_queue, berlin_owner, invoice)

    # Sixty days: past the escalation (+30) and the first endless reminder (+40).
    await temporal_env.sleep(due + timedelta(days=45) - started.astimezone(BERLIN).date())
    await pay(maker, temporal_env, berlin_owner, invoice, 102_500)
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
        f"Invoice {number} from {berlin_owner.firm.name}",
        f"Invoice {number} is due soon",
        f"Invoice {number} is due today",
        f"Reminder: invoice {number} is overdue",
        f"Second reminder: invoice {number} is overdue",
        f"Third reminder: invoice {number} is overdue",
        f"Final notice: invoice {number}",
        f"Final notice: invoice {number}",
    ]
    client = await client_of(maker, berlin_owner, invoice)
    assert all(r == [client.email] for r in mailbox.recipients)
    assert mailbox.messages[3]["Message-ID"] == f"<dunning-{invoice.id}-overdue-3@firmflow>"
    # The fee is added once, at the +7 reminder, and shows from there on.
    assert "Balance: 1,000.00 EUR" in mailbox.body(3).splitlines()
    assert "Balance: 1,025.00 EUR (including a late fee of 25.00 EUR)" in mailbox.body(4)
    assert "Balance: 1,025.00 EUR (including a late fee of 25.00 EUR)" in mailbox.body(7)
    assert "40 days overdue" in mailbox.body(7)
    link = re.search(rf"{PUBLIC_URL}/pay/{invoice.id}\?t=(\S+)", mailbox.body(1))
    assert link is not None, mailbox.body(1)
    # Signed for this invoice of this firm: the pay page opens it.
    assert PAY_LINKS.firm_of(link[1], invoice.id, now=datetime.now(UTC)) == berlin_owner.firm.id

    final = await reload(maker, berlin_owner, invoice)
    assert (final.late_fee, final.total, final.status) == (2_500, 102_500, "paid")
    assert final.in_collections
    async with tenant_session(berlin_owner.firm.id, maker) as session:
        titles = list(
            await session.scalars(select(Task.title).where(Task.client_id == final.client_id))
        )
    assert titles == [f"Collect invoice {number} ({client.name})"]
    assert await reminders(maker, berlin_owner, invoice) == {
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


async def sent_invoice_email(handle: WorkflowHandle[Any, Any]) -> NextStep:
    """Waits (time locked) until the invoice email is out and the next step is planned."""
    return await until_state(
        handle, lambda a: a.state == DunningState.scheduled and a.step_key not in (None, "invoice")
    )


async def test_payment_stops_the_reminders(
    committing_sessionmaker: async_sessionmaker[AsyncSession],
    temporal_env: WorkflowEnvironment,
    task_queue: str,
    worker: Worker,
    mailbox: Mailbox,
    berlin_owner: Actor,
) -> None:
    maker = committing_sessionmaker
    due = await wednesday_after(temporal_env, 14)
    invoice = await open_invoice(maker, berlin_owner, due)
    handle = await start(temporal_env, task_queue, berlin_owner, invoice)

    planned = await sent_invoice_email(handle)
    assert planned.step_key == "due-soon"
    assert planned.at is not None and local(planned.at) == (due - timedelta(days=2), "09:00")
    assert planned.local_at == nine_in_berlin(due - timedelta(days=2))
    assert not planned.paused

    await pay(maker, temporal_env, berlin_owner, invoice, 40_000)
    partly = await until_state(handle, lambda a: a.step_key == "due-soon")
    assert partly.state == DunningState.scheduled
    await pay(maker, temporal_env, berlin_owner, invoice, 60_000)
    result = await handle.result()

    assert (result.state, result.reason) == (DunningState.closed, "paid")
    assert sent_subjects(mailbox) == [f"Invoice {invoice.number} from {berlin_owner.firm.name}"]
    assert await reminders(maker, berlin_owner, invoice) == {"invoice": "sent"}


async def test_pause_skips_the_steps_missed_but_the_latest_and_resumes(
    committing_sessionmaker: async_sessionmaker[AsyncSession],
    temporal_env: WorkflowEnvironment,
    task_queue: str,
    worker: Worker,
    mailbox: Mailbox,
    berlin_owner: Actor,
) -> None:
    maker = committing_sessionmaker
    due = await wednesday_after(temporal_env, 14)
    invoice = await open_invoice(maker, berlin_owner, due)
    client = await client_of(maker, berlin_owner, invoice)
    handle = await start(temporal_env, task_queue, berlin_owner, invoice)
    await sent_invoice_email(handle)

    await set_paused(maker, temporal_env, berlin_owner, paused=True, invoice=invoice)
    paused = await until_state(handle, lambda a: a.paused)
    assert (paused.state, paused.reason) == (DunningState.waiting, "paused (invoice)")
    # Resuming the invoice while its client is paused keeps it waiting.
    await set_paused(maker, temporal_env, berlin_owner, paused=True, client=client)
    await set_paused(maker, temporal_env, berlin_owner, paused=False, invoice=invoice)
    await until_state(handle, lambda a: a.reason == "paused (client)")

    # Ten days after the due date (a Saturday): due-soon, due-today, overdue-3 and
    # overdue-7 passed while paused.
    now = await temporal_env.get_current_time()
    await temporal_env.sleep(due + timedelta(days=10) - now.astimezone(BERLIN).date())
    assert len(mailbox.messages) == 1

    await set_paused(maker, temporal_env, berlin_owner, paused=False, client=client)
    # The latest missed step goes out at the next opening: Monday 09:00.
    resumed = await until_state(handle, lambda a: a.step_key == "overdue-7")
    assert resumed.local_at == nine_in_berlin(due + timedelta(days=12))
    await temporal_env.sleep(timedelta(days=3))
    await until_state(handle, lambda a: a.step_key == "overdue-14")
    await pay(maker, temporal_env, berlin_owner, invoice, 100_000)
    await handle.result()

    assert sent_subjects(mailbox) == [
        f"Invoice {invoice.number} from {berlin_owner.firm.name}",
        f"Second reminder: invoice {invoice.number} is overdue",
    ]
    timeline = [(key, local(at)) for key, at in await sends(handle)]
    assert timeline[1] == ("overdue-7", (due + timedelta(days=12), "09:00"))
    assert await reminders(maker, berlin_owner, invoice) == {
        "invoice": "sent",
        "due-soon": "skipped",
        "due-today": "skipped",
        "overdue-3": "skipped",
        "overdue-7": "sent",
    }


async def test_policy_change_replans_and_keeps_what_was_sent(
    committing_sessionmaker: async_sessionmaker[AsyncSession],
    temporal_env: WorkflowEnvironment,
    task_queue: str,
    worker: Worker,
    mailbox: Mailbox,
    berlin_owner: Actor,
) -> None:
    maker = committing_sessionmaker
    due = await wednesday_after(temporal_env, 14)
    invoice = await open_invoice(maker, berlin_owner, due)
    handle = await start(temporal_env, task_queue, berlin_owner, invoice)
    assert (await sent_invoice_email(handle)).step_key == "due-soon"

    steps = [
        {"key": "nudge", "offset_days": 1, "subject": "Nudge {{ invoice.number }}", "body": "x"},
        {"key": "escalation", "kind": "escalation", "offset_days": 8},
    ]
    await set_policy(maker, temporal_env, berlin_owner, steps=steps)
    replanned = await until_state(handle, lambda a: a.step_key == "nudge")
    assert replanned.policy_version == 2
    assert replanned.at is not None and local(replanned.at) == (due + timedelta(days=1), "09:00")

    result = await handle.result()
    assert (result.state, result.reason) == (DunningState.done, "every step handled")
    assert sent_subjects(mailbox)[1:] == [f"Nudge {invoice.number}"]
    assert await reminders(maker, berlin_owner, invoice) == {
        "invoice": "sent",
        "nudge": "sent",
        "escalation": "escalated",
    }
    assert (await reload(maker, berlin_owner, invoice)).in_collections


async def test_endless_reminders_continue_as_new_carrying_what_was_sent(
    committing_sessionmaker: async_sessionmaker[AsyncSession],
    temporal_env: WorkflowEnvironment,
    task_queue: str,
    worker: Worker,
    mailbox: Mailbox,
    berlin_owner: Actor,
) -> None:
    maker = committing_sessionmaker
    steps = [{"key": "overdue", "offset_days": 1, "subject": "Overdue", "body": "Pay"}]
    await set_policy(maker, temporal_env, berlin_owner, steps=steps, endless_every_days=7)
    due = await wednesday_after(temporal_env, 0)
    invoice = await open_invoice(maker, berlin_owner, due)
    handle = await start(temporal_env, task_queue, berlin_owner, invoice, turns_per_run=3)

    now = await temporal_env.get_current_time()
    await temporal_env.sleep(due + timedelta(days=30) - now.astimezone(BERLIN).date())
    await pay(maker, temporal_env, berlin_owner, invoice, 100_000)
    result = await handle.result()

    assert result.state == DunningState.closed
    # Overdue on Thursday +1, then every Thursday: +8, +15, +22, +29.
    endless = [f"endless-{n}" for n in range(1, 5)]
    assert result.handled == ["invoice", "overdue", *endless]
    assert sent_subjects(mailbox) == [
        f"Invoice {invoice.number} from {berlin_owner.firm.name}",
        *["Overdue"] * 5,
    ]
    message_ids = [str(m["Message-ID"]) for m in mailbox.messages]
    assert len(set(message_ids)) == 6
    runs = await handle.fetch_history()
    assert runs.events[0].workflow_execution_started_event_attributes.continued_execution_run_id


async def test_sent_invoice_queues_the_workflow_and_the_api_reads_and_pauses_it(
    committing_sessionmaker: async_sessionmaker[AsyncSession],
    temporal_env: WorkflowEnvironment,
    temporal_api: AsyncClient,
    task_queue: str,
    worker: Worker,
    mailbox: Mailbox,
    berlin_owner: Actor,
) -> None:
    maker = committing_sessionmaker
    due = await wednesday_after(temporal_env, 14)
    async with maker() as session:
        draft = await make_invoice(session, berlin_owner, status=InvoiceStatus.draft, due_date=due)
    async with tenant_session(berlin_owner.firm.id, maker) as session:
        invoice = await invoices.send_invoice(session, owner(berlin_owner), draft.id)
        start_message = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.dedupe_key == f"start:dunning-{draft.id}")
        )
        # Not dispatched: the outbox would start it on the shared queue, this test's worker
        # polls its own. The message's own workflow name, id and input start it here.
        pop_outbox_ids(session)
    assert start_message is not None
    queued = start_message.payload
    handle = await temporal_env.client.start_workflow(
        queued["workflow"], queued["arg"], id=queued["workflow_id"], task_queue=task_queue
    )
    await sent_invoice_email(handle)

    path = f"/v1/invoices/{invoice.id}/dunning"
    view = (await temporal_api.get(path, headers=berlin_owner.headers)).json()
    assert view["live"]["step_key"] == "due-soon"
    assert view["live"]["local_at"] == nine_in_berlin(due - timedelta(days=2))
    assert [(r["step_key"], r["outcome"]) for r in view["reminders"]] == [("invoice", "sent")]
    assert view["reminders"][0]["message_id"] == f"dunning-{invoice.id}-invoice"

    response = await temporal_api.post(f"{path}/pause", headers=berlin_owner.headers)
    assert response.status_code == 200, response.text
    await until_state(handle, lambda a: a.paused)
    view = (await temporal_api.get(path, headers=berlin_owner.headers)).json()
    assert (view["dunning_paused"], view["live"]["paused"]) == (True, True)
    assert view["live"]["reason"] == "paused (invoice)"

    response = await temporal_api.post(f"{path}/resume", headers=berlin_owner.headers)
    assert response.status_code == 200, response.text
    await until_state(handle, lambda a: a.step_key == "due-soon")
    await pay(maker, temporal_env, berlin_owner, invoice, invoice.balance)
    assert (await handle.result())["state"] == "closed"
    assert sent_subjects(mailbox) == [f"Invoice {invoice.number} from {berlin_owner.firm.name}"]


async def plan_at(
    maker: async_sessionmaker[AsyncSession],
    actor: Actor,
    invoice: Invoice,
    now: datetime,
    handled: tuple[str, ...] = ("invoice",),
) -> Plan:
    request = PlanInput(
        firm_id=actor.firm.id, invoice_id=invoice.id, handled=list(handled), now=now
    )
    async with firm_transaction(maker, request.firm_id) as session:
        return await dunning.plan(session, request)


def berlin(year: int, month: int, day: int, hour: int) -> datetime:
    return datetime(year, month, day, hour, tzinfo=BERLIN)


async def test_plan_follows_the_firms_business_hours_and_days_across_dst(
    committing_sessionmaker: async_sessionmaker[AsyncSession], berlin_owner: Actor
) -> None:
    maker = committing_sessionmaker
    async with tenant_session(berlin_owner.firm.id, maker) as session:
        patch = SettingsPatch(
            business_hours_start=10, business_hours_end=14, business_days=[2, 3, 4, 5, 6]
        )
        await update_settings(session, owner(berlin_owner), patch=patch)
    steps = [
        {"key": "early", "offset_days": -7, "subject": "Soon", "body": "Soon"},
        {"key": "due", "offset_days": 0, "subject": "Due", "body": "Due"},
    ]
    await set_policy(maker, None, berlin_owner, steps=steps)
    # Due on Sunday 28 March 2027, the day Berlin moves to summer time.
    invoice = await open_invoice(maker, berlin_owner, date(2027, 3, 28))

    first = await plan_at(maker, berlin_owner, invoice, berlin(2027, 3, 1, 12))
    assert first.next is not None and first.next.key == "early"
    # Sunday the 21st and Monday are not business days: Tuesday 10:00, winter time.
    assert first.next.at == datetime(2027, 3, 23, 9, tzinfo=UTC)
    assert first.next.local_at == "2027-03-23T10:00:00+01:00"
    second = await plan_at(
        maker, berlin_owner, invoice, berlin(2027, 3, 24, 12), ("invoice", "early")
    )
    assert second.next is not None
    assert second.next.local_at == "2027-03-30T10:00:00+02:00"

    # Both overdue after closing time: the latest goes out at the next opening.
    late = await plan_at(maker, berlin_owner, invoice, berlin(2027, 3, 30, 15))
    assert late.next is not None and late.next.key == "due"
    assert late.next.local_at == "2027-03-31T10:00:00+02:00"
    assert late.superseded == ["early"]
    # Within business hours it goes out now.
    inside = berlin(2027, 3, 30, 11)
    now_plan = await plan_at(maker, berlin_owner, invoice, inside)
    assert now_plan.next is not None and now_plan.next.at == inside

    done = await plan_at(maker, berlin_owner, invoice, inside, ("invoice", "early", "due"))
    assert (done.state, done.reason) == (DunningState.done, "every step handled")
    # A step before one already sent (a policy change added it) is never sent.
    behind = await plan_at(maker, berlin_owner, invoice, berlin(2027, 3, 1, 12), ("invoice", "due"))
    assert (behind.state, behind.next) == (DunningState.done, None)
    await set_policy(maker, None, berlin_owner, steps=steps, enabled=False)
    disabled = await plan_at(maker, berlin_owner, invoice, inside)
    assert (disabled.state, disabled.reason) == (DunningState.waiting, "policy disabled")


async def test_a_template_failing_on_real_values_sends_the_default_text(
    committing_sessionmaker: async_sessionmaker[AsyncSession], berlin_owner: Actor, mailbox: Mailbox
) -> None:
    maker = committing_sessionmaker
    # Renders with the sample data (7 days overdue) but divides by zero at 3 days.
    steps = [
        {
            "key": "overdue-3",
            "offset_days": 3,
            "subject": "Late",
            "body": "{{ 1 / (days_overdue - 3) }}",
        }
    ]
    await set_policy(maker, None, berlin_owner, steps=steps)
    now = datetime.now(UTC)
    invoice = await open_invoice(
        maker, berlin_owner, now.astimezone(BERLIN).date() - timedelta(days=3)
    )
    step = PlannedStep(key="overdue-3", kind="reminder", at=now, local_at=now.isoformat())
    request = SendInput(firm_id=berlin_owner.firm.id, invoice_id=invoice.id, step=step, now=now)
    result = await send_step(maker, mailer_for(mailbox), request)
    assert result.outcome == SendOutcome.sent
    assert str(mailbox.messages[0]["Subject"]) == f"Reminder: invoice {invoice.number} is overdue"
    assert "3 days overdue" in mailbox.body(0)


async def test_a_client_without_email_is_skipped_and_the_escalation_still_happens(
    committing_sessionmaker: async_sessionmaker[AsyncSession], berlin_owner: Actor, mailbox: Mailbox
) -> None:
    maker = committing_sessionmaker
    async with tenant_session(berlin_owner.firm.id, maker) as session:
        silent = await create_client(
            session, owner(berlin_owner), fields=validate_client_fields({"name": "No Mail GmbH"})
        )
    async with maker() as session:
        invoice = await make_invoice(
            session, berlin_owner, client_id=silent.id, due_date=date.today()
        )
    mailer = mailer_for(mailbox)
    now = datetime.now(UTC)

    def send(key: str, kind: str) -> SendInput:
        step = PlannedStep(key=key, kind=kind, at=now, local_at=now.isoformat())
        return SendInput(firm_id=berlin_owner.firm.id, invoice_id=invoice.id, step=step, now=now)

    assert (await send_step(maker, mailer, send("overdue-3", "reminder"))).outcome == (
        SendOutcome.skipped
    )
    escalated = await send_step(maker, mailer, send("escalation", "escalation"))
    assert escalated.outcome == SendOutcome.escalated
    assert mailbox.messages == []
    assert await reminders(maker, berlin_owner, invoice) == {
        "overdue-3": "skipped",
        "escalation": "escalated",
    }
    assert (await reload(maker, berlin_owner, invoice)).in_collections


def test_late_fee_is_fixed_plus_percent_rounded_half_even() -> None:
    doc = dunning_policy.DEFAULT_POLICY.model_copy(
        update={"late_fee_fixed": 500, "late_fee_percent": Decimal("2.5")}
    )
    assert dunning_policy.late_fee_amount(doc, 10_000) == 750
    assert dunning_policy.late_fee_amount(doc, 10_020) == 750  # 250.5 -> 250
    assert dunning_policy.late_fee_amount(doc, 10_060) == 752  # 251.5 -> 252
