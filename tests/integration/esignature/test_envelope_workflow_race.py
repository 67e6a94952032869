"""A void arriving while a reminder is being sent: the reminder holds the envelope's row
lock while the mail server takes it, the void waits for it, and nothing is sent after the
void. A real SMTP server that holds the reminder's DATA until the test lets it go; the void
goes through the API; Postgres shows it waiting on the lock. Then the reminder step run
after the void sends nothing."""

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from httpx import AsyncClient
from sqlalchemy import text
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from core.config import Settings
from core.db import tenant_session
from providers.email import build_email_provider
from services.esignature import process
from tests.esignature_factories import SIGNER_ONE, sent_envelope
from tests.esignature_workflow import (
    DEADLINE,
    POLL_INTERVAL,
    Maker,
    finished,
    mail_to,
    mailed,
    new_york_owner,
    next_reminder,
    recorded,
    skip,
    trail,
)
from tests.factories import Actor
from tests.fixtures.workers import mailing
from tests.mailbox import Mailbox, free_port
from worker import build_worker
from workflows.esignature.envelope.contracts import RemindInput

__all__ = ["new_york_owner"]

ADA = SIGNER_ONE["email"]


class HeldMailbox(Mailbox):
    """Holds the first reminder's DATA until ``release`` is set; ``holding`` says when."""

    def __init__(self) -> None:
        super().__init__()
        self.holding = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        subject = str(message_from_bytes(envelope.content)["Subject"])
        if subject.startswith("Reminder") and not self.release.is_set():
            self.holding.set()
            await asyncio.to_thread(self.release.wait, DEADLINE)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def held_mailbox() -> Iterator[HeldMailbox]:
    box = HeldMailbox()
    box.port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        box.release.set()
        controller.stop()


@pytest.fixture
async def held_worker(
    settings: Settings,
    committing_sessionmaker: Maker,
    temporal_env: WorkflowEnvironment,
    held_mailbox: HeldMailbox,
) -> AsyncIterator[Worker]:
    smtp = mailing(settings, held_mailbox)
    async with build_worker(smtp, temporal_env.client, committing_sessionmaker) as running:
        yield running


async def waiting_on_a_lock(maker: Maker) -> None:
    """Until a session of ours waits for a row lock (the void, behind the reminder)."""
    async with asyncio.timeout(DEADLINE):
        while True:
            async with maker() as session:
                waiting = await session.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                    )
                )
            if waiting:
                return
            await asyncio.sleep(POLL_INTERVAL)


async def test_a_void_during_a_reminder_send_waits_for_it_and_nothing_follows(
    settings: Settings,
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    held_worker: Worker,
    committing_sessionmaker: Maker,
    held_mailbox: HeldMailbox,
    new_york_owner: Actor,
) -> None:
    maker, owner = committing_sessionmaker, new_york_owner
    firm_id = owner.firm.id
    only_ada = [{**SIGNER_ONE, "role": "signer", "routing_order": 1}]
    envelope = await sent_envelope(temporal_api, owner, recipients=only_ada, expiry_days=120)
    envelope_id = uuid.UUID(envelope["id"])
    await mailed(held_mailbox, ADA, "Please sign")

    due = await next_reminder(maker, firm_id, envelope_id, ADA)
    # The test server cannot move its clock on while the reminder's activity is held: the
    # skip completes once it is let go.
    skipping = asyncio.create_task(skip(temporal_env, due + timedelta(minutes=1)))
    assert await asyncio.to_thread(held_mailbox.holding.wait, DEADLINE)
    void = asyncio.create_task(
        temporal_api.post(
            f"/v1/envelopes/{envelope_id}/void",
            json={"reason": "Wrong engagement"},
            headers=owner.headers,
        )
    )
    await waiting_on_a_lock(maker)
    assert not void.done()
    held_mailbox.release.set()
    voided = await void
    assert voided.status_code == 200, voided.text
    await skipping

    await mailed(held_mailbox, ADA, "Voided")
    result = await finished(temporal_env, envelope["id"])
    assert result.status == "voided"
    [reminded] = await recorded(maker, firm_id, envelope_id, "reminded")
    [void_event] = await recorded(maker, firm_id, envelope_id, "voided")
    assert reminded.occurred_at < void_event.occurred_at
    assert len(mail_to(held_mailbox, ADA, "Reminder")) == 1

    # A reminder step that runs after the void (a retry, a late worker) finds it voided
    # under the lock and sends nothing, even one staff asked for.
    mail = process.Mailing(
        settings=mailing(settings, held_mailbox),
        email=build_email_provider(mailing(settings, held_mailbox)),
    )
    step = RemindInput(
        firm_id=firm_id,
        envelope_id=envelope_id,
        send_round=1,
        at=datetime.now(UTC) + timedelta(days=30),
        manual=True,
    )
    async with tenant_session(firm_id, maker) as session:
        assert await process.remind(session, mail, step) == 0
    await skip(temporal_env, await temporal_env.get_current_time() + timedelta(days=10))
    assert len(await trail(maker, firm_id, envelope_id, "reminded")) == 1
    assert len(mail_to(held_mailbox, ADA, "Reminder")) == 1
