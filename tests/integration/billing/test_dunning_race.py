"""A payment and a reminder send at the same time never yield a reminder after the
payment was recorded. Both take the invoice's row lock (``SELECT … FOR UPDATE``): the send
from its re-check to its commit, the SMTP exchange included; the payment for its whole
transaction. Real Postgres, a real SMTP server whose DATA answer the test holds, and the
real payments service.

What is observable, and asserted: Postgres shows the second party waiting on a lock (not
a sleep that hopes so); the order of "email accepted" and "payment committed" in one log;
the reminder row and the email's content."""

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db import scope_to_firm, tenant_session
from models import Invoice, PaymentMethod
from services.billing.payments import record_payment
from tests.factories import Actor
from tests.integration.billing.test_dunning_workflow import (
    mailer_for,
    open_invoice,
    owner,
    reminders,
    send_step,
)
from tests.mailbox import Mailbox, free_port
from workflows.billing.dunning.contracts import PlannedStep, SendInput, SendOutcome

WAIT = 15.0


class GatedMailbox(Mailbox):
    """Answers DATA only once the test releases it; logs when it accepted a message."""

    def __init__(self, log: list[str]) -> None:
        super().__init__()
        self.log = log
        self.arrived = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.arrived.set()
        await asyncio.get_running_loop().run_in_executor(None, self.release.wait, WAIT)
        self.log.append("email accepted")
        return await super().handle_DATA(server, session, envelope)


@contextmanager
def gated_mailbox(log: list[str]) -> Iterator[GatedMailbox]:
    box = GatedMailbox(log)
    box.port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        box.release.set()
        controller.stop()


def send_input(actor: Actor, invoice: Invoice, key: str = "overdue-3") -> SendInput:
    now = datetime.now(UTC)
    step = PlannedStep(key=key, kind="reminder", at=now, local_at=now.isoformat())
    return SendInput(firm_id=actor.firm.id, invoice_id=invoice.id, step=step, now=now)


async def pay_in_full(session: AsyncSession, actor: Actor, invoice: Invoice) -> None:
    await scope_to_firm(session, actor.firm.id)
    await record_payment(
        session,
        owner(actor),
        invoice_id=invoice.id,
        amount=invoice.balance,
        currency=invoice.currency,
        method=PaymentMethod.bank_transfer,
        received_on=date.today(),
    )


async def someone_waits_on_a_lock(maker: async_sessionmaker[AsyncSession]) -> None:
    """Polls Postgres (bounded) until a session of this test database waits for a row
    lock another holds."""
    deadline = asyncio.get_running_loop().time() + WAIT
    async with maker() as session:
        while asyncio.get_running_loop().time() < deadline:
            waiting = await session.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND cardinality(pg_blocking_pids(pid)) > 0"
                )
            )
            await session.rollback()
            if waiting:
                return
            await asyncio.sleep(0.01)
    raise AssertionError("nobody waited on the invoice's row lock")


async def test_payment_during_a_send_waits_for_it_and_the_reminder_precedes_it(
    committing_sessionmaker: async_sessionmaker[AsyncSession], berlin_owner: Actor
) -> None:
    maker = committing_sessionmaker
    invoice = await open_invoice(maker, berlin_owner, date.today())
    log: list[str] = []
    with gated_mailbox(log) as box:
        send = asyncio.create_task(
            send_step(maker, mailer_for(box), send_input(berlin_owner, invoice))
        )
        assert await asyncio.to_thread(box.arrived.wait, WAIT)

        async def pay() -> None:
            async with maker() as session, session.begin():
                await pay_in_full(session, berlin_owner, invoice)
            log.append("payment committed")

        payment = asyncio.create_task(pay())
        await someone_waits_on_a_lock(maker)
        assert not payment.done()
        box.release.set()
        result = await send
        await payment

    assert result.outcome == SendOutcome.sent
    assert log == ["email accepted", "payment committed"]
    assert "Balance: 1,000.00 EUR" in box.body(0).splitlines()
    assert await reminders(maker, berlin_owner, invoice) == {"overdue-3": "sent"}


async def test_send_during_a_payment_waits_for_it_and_sends_nothing(
    committing_sessionmaker: async_sessionmaker[AsyncSession], berlin_owner: Actor
) -> None:
    maker = committing_sessionmaker
    invoice = await open_invoice(maker, berlin_owner, date.today())
    log: list[str] = []
    with gated_mailbox(log) as box:
        box.release.set()
        async with maker() as session, session.begin():
            await pay_in_full(session, berlin_owner, invoice)
            send = asyncio.create_task(
                send_step(maker, mailer_for(box), send_input(berlin_owner, invoice))
            )
            await someone_waits_on_a_lock(maker)
            assert not send.done()
        log.append("payment committed")
        result = await send

    assert (result.outcome, result.closed) == (SendOutcome.skipped, True)
    assert log == ["payment committed"]
    assert box.messages == []
    assert await reminders(maker, berlin_owner, invoice) == {"overdue-3": "skipped"}


async def test_a_retried_send_sends_once(
    committing_sessionmaker: async_sessionmaker[AsyncSession], berlin_owner: Actor
) -> None:
    maker = committing_sessionmaker
    invoice = await open_invoice(maker, berlin_owner, date.today())
    with gated_mailbox([]) as box:
        box.release.set()
        request = send_input(berlin_owner, invoice, key="overdue-7")
        first = await send_step(maker, mailer_for(box), request)
        again = await send_step(maker, mailer_for(box), request)
    assert (first.outcome, again.outcome) == (SendOutcome.sent, SendOutcome.already)
    assert len(box.messages) == 1
    async with tenant_session(berlin_owner.firm.id, maker) as session:
        assert (await session.get_one(Invoice, invoice.id)).status == "open"
