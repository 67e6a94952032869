"""RecurringInvoiceWorkflow on the time-skipping server with its real activities against
committed Postgres data: occurrences across a DST change at 09:00 local, each invoiced
once (also when the activity runs again), pause / resume / end through the outbox, and
the failure paths (an occurrence that cannot be invoiced, a recurring invoice gone)."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.billing_recurring import RecurringInvoiceActivities
from core.db import tenant_session
from core.principal import Principal
from core.temporal import fixed_client
from models import AuditEvent, Invoice, OutboxMessage, RecurringInvoice, RecurringStatus
from services.billing import recurring, tax_rates
from services.billing.recurring import RecurringFields
from services.billing.tax_rates import TaxRateFields
from services.outbox.dispatch import dispatch_pending
from services.outbox.writer import pop_outbox_ids
from tests.billing_factories import make_client
from tests.factories import Actor
from workflows.billing.dunning import contracts as dunning_contracts
from workflows.billing.recurring import contracts as recurring_contracts
from workflows.billing.recurring.contracts import (
    CreateOccurrenceInput,
    NextOccurrenceView,
    PlanNextInput,
    RecurringInput,
    RecurringResult,
)
from workflows.billing.recurring.workflow import RecurringInvoiceWorkflow

Maker = async_sessionmaker[AsyncSession]
BERLIN = ZoneInfo("Europe/Berlin")
DEADLINE = 60
LINES = [{"description": "Retainer", "quantity": "1", "unit_price": 120_000}]


@asynccontextmanager
async def running_worker(
    env: WorkflowEnvironment, maker: Maker, task_queue: str
) -> AsyncIterator[Worker]:
    activities = RecurringInvoiceActivities(maker)
    async with Worker(
        env.client,
        task_queue=task_queue,
        workflows=[RecurringInvoiceWorkflow],
        activities=[activities.plan_next, activities.create_occurrence],
    ) as worker:
        yield worker


def next_dst_change(after: datetime) -> date:
    """The first local date after ``after`` whose UTC offset differs from the day before."""
    day = after.astimezone(BERLIN).date() + timedelta(days=2)
    while True:
        noon = [datetime.combine(d, time(12), BERLIN) for d in (day - timedelta(days=1), day)]
        if noon[0].utcoffset() != noon[1].utcoffset():
            return day
        day += timedelta(days=1)


async def create_recurring(
    maker: Maker, actor: Actor, **fields: Any
) -> tuple[RecurringInvoice, list[uuid.UUID]]:
    """Saved and committed; returns the outbox ids it queued."""
    async with maker() as session:
        client = await make_client(session, actor)
    async with tenant_session(actor.firm.id, maker) as session:
        created = await recurring.create_recurring(
            session,
            Principal.system(actor.firm.id),
            fields=RecurringFields.model_validate(
                {
                    "client_id": client.id,
                    "template": {"lines": LINES, "payment_terms_days": 10},
                    "time_zone": "Europe/Berlin",
                }
                | fields
            ),
        )
        return created, pop_outbox_ids(session)


async def start(
    env: WorkflowEnvironment, task_queue: str, actor: Actor, created: RecurringInvoice
) -> WorkflowHandle[RecurringInvoiceWorkflow, RecurringResult]:
    """Started on the test's queue (the outbox would start it on the worker's)."""
    return await env.client.start_workflow(
        RecurringInvoiceWorkflow.run,
        RecurringInput(
            firm_id=actor.firm.id,
            recurring_invoice_id=created.id,
            not_before=await env.get_current_time(),
        ),
        id=recurring_contracts.workflow_id(created.id),
        task_queue=task_queue,
    )


async def invoices_of(maker: Maker, actor: Actor, recurring_id: uuid.UUID) -> list[Invoice]:
    async with tenant_session(actor.firm.id, maker) as session:
        rows = await session.scalars(
            select(Invoice)
            .where(Invoice.recurring_invoice_id == recurring_id)
            .order_by(Invoice.occurrence_date)
        )
        return list(rows)


async def fired(maker: Maker, actor: Actor, recurring_id: uuid.UUID) -> list[datetime]:
    async with tenant_session(actor.firm.id, maker) as session:
        rows = await session.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.record_id == recurring_id,
                AuditEvent.action == "recurring_invoice.invoiced",
            )
            .order_by(AuditEvent.created_at)
        )
        return [datetime.fromisoformat(row.summary["after"]["fired_at"]) for row in rows]


async def query(env: WorkflowEnvironment, created: RecurringInvoice) -> NextOccurrenceView:
    # The latest run: the workflow continues as new after each occurrence.
    handle = env.client.get_workflow_handle(recurring_contracts.workflow_id(created.id))
    view: NextOccurrenceView = await handle.query(
        recurring_contracts.NEXT_OCCURRENCE_QUERY, result_type=NextOccurrenceView
    )
    return view


async def until(
    env: WorkflowEnvironment,
    created: RecurringInvoice,
    done: Callable[[NextOccurrenceView], bool],
) -> NextOccurrenceView:
    """Poll the workflow's query until ``done`` holds (bounded)."""
    async with asyncio.timeout(DEADLINE):
        while True:
            view = await query(env, created)

            if done(view):
                return view
            await asyncio.sleep(0.05)


async def act(
    maker: Maker,
    env: WorkflowEnvironment,
    actor: Actor,
    change: Callable[[AsyncSession, Principal], Awaitable[object]],
) -> None:
    """Change something through the service, commit, and carry out the outbox it queued."""
    async with tenant_session(actor.firm.id, maker) as session:
        await change(session, Principal.system(actor.firm.id))
        ids = pop_outbox_ids(session)
    await dispatch_pending(maker, fixed_client(env.client), limit=len(ids), ids=ids)


async def test_three_occurrences_across_a_dst_change_each_invoiced_once_at_nine_local(
    temporal_env: WorkflowEnvironment,
    committing_sessionmaker: Maker,
    committed_owner: Actor,
    task_queue: str,
) -> None:
    maker, env = committing_sessionmaker, temporal_env
    change = next_dst_change(await env.get_current_time())
    first = change - timedelta(days=1)
    created, _ = await create_recurring(
        maker,
        committed_owner,
        rrule="FREQ=DAILY",
        starts_at_local=datetime.combine(first, time(9)),
        count=3,
        auto_send=True,
    )
    async with running_worker(env, maker, task_queue):
        handle = await start(env, task_queue, committed_owner, created)
        async with asyncio.timeout(DEADLINE):
            result = await handle.result()
    days = [first, change, change + timedelta(days=1)]
    assert result == RecurringResult(status="ended", last_occurrence_date=days[-1])

    made = await invoices_of(maker, committed_owner, created.id)
    assert [i.issue_date for i in made] == days
    assert [i.occurrence_date for i in made] == days
    assert [i.due_date for i in made] == [day + timedelta(days=10) for day in days]
    assert all(i.status == "open" and i.number and i.sent_at and i.total == 120_000 for i in made)
    times = await fired(maker, committed_owner, created.id)
    # To the minute: the workflow task that follows a timer starts a moment after it.
    local = [t.astimezone(BERLIN).replace(second=0, microsecond=0, tzinfo=None) for t in times]
    assert local == [datetime.combine(day, time(9)) for day in days]
    # Same wall clock, different instants: the offset changed in between.
    assert len({t.astimezone(BERLIN).utcoffset() for t in times}) == 2
    async with tenant_session(committed_owner.firm.id, maker) as session:
        status = await session.scalar(
            select(RecurringInvoice.status).where(RecurringInvoice.id == created.id)
        )
        dunning = await session.scalars(
            select(OutboxMessage.payload["workflow_id"].astext).where(
                OutboxMessage.firm_id == committed_owner.firm.id,
                OutboxMessage.kind == "start_workflow",
            )
        )
        started = set(dunning)
    assert status == RecurringStatus.ended.value
    assert {dunning_contracts.workflow_id(i.id) for i in made} <= started


async def test_the_activity_run_twice_or_at_once_makes_one_invoice(
    committing_sessionmaker: Maker, committed_owner: Actor
) -> None:
    maker = committing_sessionmaker
    created, _ = await create_recurring(
        maker,
        committed_owner,
        rrule="FREQ=MONTHLY;BYMONTHDAY=-1",
        starts_at_local=datetime(2099, 1, 1, 9),
    )
    activities = RecurringInvoiceActivities(maker)

    def occurrence(day: date) -> CreateOccurrenceInput:
        return CreateOccurrenceInput(
            firm_id=committed_owner.firm.id,
            recurring_invoice_id=created.id,
            occurrence_date=day,
            fired_at=datetime(2099, 1, 31, 8, tzinfo=UTC),
        )

    first = await activities.create_occurrence(occurrence(date(2099, 1, 31)))
    retried = await activities.create_occurrence(occurrence(date(2099, 1, 31)))
    assert (first.outcome, retried.outcome) == ("created", "existing")
    assert first.invoice_id == retried.invoice_id
    racing = await asyncio.gather(
        *(activities.create_occurrence(occurrence(date(2099, 2, 28))) for _ in range(3))
    )
    assert sorted(r.outcome for r in racing) == ["created", "existing", "existing"]
    assert len({r.invoice_id for r in racing}) == 1
    made = await invoices_of(maker, committed_owner, created.id)
    assert [i.occurrence_date for i in made] == [date(2099, 1, 31), date(2099, 2, 28)]
    # Without auto_send: finalized (numbered, open) but not sent, no dunning.
    assert all(i.status == "open" and i.number and i.sent_at is None for i in made)
    async with tenant_session(committed_owner.firm.id, maker) as session:
        row = await session.get_one(RecurringInvoice, created.id)
    assert row.last_occurrence_date == date(2099, 2, 28)


async def test_pause_skips_what_falls_due_resume_goes_on_end_stops(
    temporal_env: WorkflowEnvironment,
    committing_sessionmaker: Maker,
    committed_owner: Actor,
    task_queue: str,
) -> None:
    maker, env = committing_sessionmaker, temporal_env
    now = await env.get_current_time()
    first = now.astimezone(BERLIN).date() + timedelta(days=1)
    created, _ = await create_recurring(
        maker, committed_owner, rrule="FREQ=DAILY", starts_at_local=datetime.combine(first, time(9))
    )
    async with running_worker(env, maker, task_queue):
        handle = await start(env, task_queue, committed_owner, created)
        view = await until(env, created, lambda v: v.next is not None)
        assert view.next is not None and view.next.occurrence_date == first
        await env.sleep(view.next.at - await env.get_current_time() + timedelta(minutes=1))
        await until(env, created, lambda v: v.last_occurrence_date == first)

        await act(
            maker,
            env,
            committed_owner,
            lambda s, p: recurring.set_status(s, p, created.id, target=RecurringStatus.paused),
        )
        await until(env, created, lambda v: v.status == "paused")
        await env.sleep(timedelta(days=3))
        assert len(await invoices_of(maker, committed_owner, created.id)) == 1

        await act(
            maker,
            env,
            committed_owner,
            lambda s, p: recurring.set_status(s, p, created.id, target=RecurringStatus.active),
        )
        view = await until(env, created, lambda v: v.status == "active" and v.next is not None)
        assert view.next is not None
        resumed_on = view.next.occurrence_date
        # The days that fell due while paused are skipped, not invoiced late.
        assert view.next.at > await env.get_current_time()
        assert resumed_on >= first + timedelta(days=4)
        await env.sleep(view.next.at - await env.get_current_time() + timedelta(minutes=1))
        await until(env, created, lambda v: v.last_occurrence_date == resumed_on)

        await act(
            maker,
            env,
            committed_owner,
            lambda s, p: recurring.set_status(s, p, created.id, target=RecurringStatus.ended),
        )
        async with asyncio.timeout(DEADLINE):
            result = await handle.result()
    assert result == RecurringResult(status="ended", last_occurrence_date=resumed_on)
    made = await invoices_of(maker, committed_owner, created.id)
    assert [i.occurrence_date for i in made] == [first, resumed_on]


async def test_schedule_change_replans_at_once(
    temporal_env: WorkflowEnvironment,
    committing_sessionmaker: Maker,
    committed_owner: Actor,
    task_queue: str,
) -> None:
    maker, env = committing_sessionmaker, temporal_env
    today = (await env.get_current_time()).astimezone(BERLIN).date()
    created, _ = await create_recurring(
        maker,
        committed_owner,
        rrule="FREQ=YEARLY",
        starts_at_local=datetime.combine(today + timedelta(days=200), time(9)),
    )
    async with running_worker(env, maker, task_queue):
        handle = await start(env, task_queue, committed_owner, created)
        await until(env, created, lambda v: v.next is not None)
        await act(
            maker,
            env,
            committed_owner,
            lambda s, p: recurring.update_recurring(
                s,
                p,
                created.id,
                patch=recurring.RecurringPatch(
                    rrule="FREQ=WEEKLY",
                    starts_at_local=datetime.combine(today + timedelta(days=2), time(7, 30)),
                ),
            ),
        )
        view = await until(
            env,
            created,
            lambda v: v.next is not None and v.next.occurrence_date == today + timedelta(days=2),
        )
        assert view.next is not None and view.next.local.time() == time(7, 30)
        await handle.terminate("test over")


async def test_an_occurrence_that_cannot_be_invoiced_pauses_the_schedule(
    committing_sessionmaker: Maker, committed_owner: Actor
) -> None:
    maker = committing_sessionmaker
    principal = Principal.system(committed_owner.firm.id)
    async with tenant_session(committed_owner.firm.id, maker) as session:
        rate = await tax_rates.create_tax_rate(
            session, principal, fields=TaxRateFields(name="VAT", percent=Decimal(19))
        )
    taxed = [{**LINES[0], "tax_rate_ids": [str(rate.id)]}]
    created, _ = await create_recurring(
        maker,
        committed_owner,
        rrule="FREQ=DAILY",
        starts_at_local=datetime(2099, 1, 1, 9),
        template={"lines": taxed},
    )
    async with tenant_session(committed_owner.firm.id, maker) as session:
        await tax_rates.archive_tax_rate(session, principal, rate.id)
    activities = RecurringInvoiceActivities(maker)
    outcome = await activities.create_occurrence(
        CreateOccurrenceInput(
            firm_id=committed_owner.firm.id,
            recurring_invoice_id=created.id,
            occurrence_date=date(2099, 1, 1),
            fired_at=datetime(2099, 1, 1, 8, tzinfo=UTC),
        )
    )
    assert outcome.outcome == "rejected" and outcome.detail
    assert "archived" in outcome.detail.lower()
    assert await invoices_of(maker, committed_owner, created.id) == []
    async with tenant_session(committed_owner.firm.id, maker) as session:
        row = await session.get_one(RecurringInvoice, created.id)
        reason = await session.scalar(
            select(AuditEvent.summary).where(
                AuditEvent.record_id == created.id, AuditEvent.action == "recurring_invoice.paused"
            )
        )
    assert row.status == RecurringStatus.paused.value
    assert reason is not None and reason["after"]["occurrence_date"] == "2099-01-01"
    plan = await activities.plan_next(
        PlanNextInput(
            firm_id=committed_owner.firm.id,
            recurring_invoice_id=created.id,
            after=None,
            not_before=None,
        )
    )
    assert (plan.status, plan.next) == ("paused", None)


async def test_a_recurring_invoice_that_is_gone_is_a_non_retryable_failure(
    committing_sessionmaker: Maker, committed_owner: Actor
) -> None:
    activities = RecurringInvoiceActivities(committing_sessionmaker)
    with pytest.raises(ApplicationError) as caught:
        await activities.plan_next(
            PlanNextInput(
                firm_id=committed_owner.firm.id,
                recurring_invoice_id=uuid.uuid4(),
                after=None,
                not_before=None,
            )
        )
    assert caught.value.type == recurring_contracts.GONE and caught.value.non_retryable
