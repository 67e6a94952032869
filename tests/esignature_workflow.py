"""What EnvelopeWorkflow's tests share: a firm in New York, waiting for emails and trail
events the worker produces, reading the signing link out of an email and signing or
declining through the public signing API with it, the firm's business hours and the
schedule's next reminder, the workflow's result, and moving the time-skipping server's
clock."""

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from email.message import EmailMessage
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from core.db import tenant_session
from models import Envelope, EnvelopeEvent, EnvelopeRecipient, OutboxMessage
from pure.business_hours import BusinessHours
from pure.signing_schedule import reminder_due
from services.esignature.process import hours_of, policy_of
from tests.factories import Actor, make_firm
from tests.fixtures.firms import committed
from tests.mailbox import Mailbox, text_of
from workflows.esignature.envelope import contracts as envelope_process

Maker = async_sessionmaker[AsyncSession]
# How long a test waits for the worker to do what a moment of workflow time asks.
DEADLINE = 30.0
POLL_INTERVAL = 0.05
LINK = re.compile(r"/sign/([0-9a-f-]{36})\?t=(\S+)")


@pytest.fixture
async def new_york_owner(committing_sessionmaker: Maker) -> AsyncIterator[Actor]:
    """The owner of a committed firm in America/New_York (business hours 09:00-17:00,
    Monday to Friday)."""

    async def new_york(session: AsyncSession) -> Actor:
        return await make_firm(session, "Signing Partners", time_zone="America/New_York")

    async with committed(committing_sessionmaker, new_york) as actor:
        yield actor


async def finished(env: WorkflowEnvironment, envelope_id: str) -> envelope_process.EnvelopeResult:
    """The result of a workflow seen to end (its last emails went out). Not awaited with
    time skipping, which would carry the module's clock far ahead."""
    handle = env.client.get_workflow_handle(envelope_process.workflow_id(uuid.UUID(envelope_id)))
    async with asyncio.timeout(DEADLINE):
        result = await handle.result()
    return envelope_process.EnvelopeResult.model_validate(result)


def to_minute(moment: str | datetime) -> datetime:
    """To the minute: the workflow acts a moment (real seconds) after its timer."""
    parsed = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return parsed.replace(second=0, microsecond=0)


def subject_of(message: EmailMessage) -> str:
    return str(message["Subject"])


def message_id_of(message: EmailMessage) -> str:
    """Our message id, without the angle brackets and the sender's domain."""
    return str(message["Message-ID"]).strip("<>").split("@", 1)[0]


def mail_to(mailbox: Mailbox, address: str, subject: str) -> list[EmailMessage]:
    return [m for m in mailbox.to(address) if subject_of(m).startswith(subject)]


async def mailed(
    mailbox: Mailbox, address: str, subject: str, count: int = 1
) -> list[EmailMessage]:
    """The emails to ``address`` whose subject starts with ``subject``, once there are
    ``count`` of them."""
    async with asyncio.timeout(DEADLINE):
        while True:
            found = mail_to(mailbox, address, subject)
            if len(found) >= count:
                return found
            await asyncio.sleep(POLL_INTERVAL)


async def trail(
    maker: Maker, firm_id: uuid.UUID, envelope_id: uuid.UUID, kind: str | None = None
) -> list[EnvelopeEvent]:
    async with tenant_session(firm_id, maker) as session:
        statement = select(EnvelopeEvent).where(EnvelopeEvent.envelope_id == envelope_id)
        if kind is not None:
            statement = statement.where(EnvelopeEvent.kind == kind)
        return list(await session.scalars(statement.order_by(EnvelopeEvent.occurred_at)))


async def recorded(
    maker: Maker, firm_id: uuid.UUID, envelope_id: uuid.UUID, kind: str, count: int = 1
) -> list[EnvelopeEvent]:
    """The envelope's ``kind`` trail events, once there are ``count``."""
    async with asyncio.timeout(DEADLINE):
        while True:
            found = await trail(maker, firm_id, envelope_id, kind)
            if len(found) >= count:
                return found
            await asyncio.sleep(POLL_INTERVAL)


async def envelope_row(maker: Maker, firm_id: uuid.UUID, envelope_id: uuid.UUID) -> Envelope:
    async with tenant_session(firm_id, maker) as session:
        return await session.get_one(Envelope, envelope_id)


async def events_emitted(maker: Maker, firm_id: uuid.UUID, name: str) -> list[dict[str, Any]]:
    """The payloads of the firm's outbox events named ``name``."""
    async with tenant_session(firm_id, maker) as session:
        payloads = await session.scalars(
            select(OutboxMessage.payload).where(
                OutboxMessage.firm_id == firm_id, OutboxMessage.payload["event"].astext == name
            )
        )
        return list(payloads)


async def business_hours(maker: Maker, firm_id: uuid.UUID) -> BusinessHours:
    async with tenant_session(firm_id, maker) as session:
        return await hours_of(session, firm_id)


async def recipient_row(
    maker: Maker, firm_id: uuid.UUID, envelope_id: uuid.UUID, email: str
) -> EnvelopeRecipient:
    async with tenant_session(firm_id, maker) as session:
        rows = await session.scalars(
            select(EnvelopeRecipient).where(
                EnvelopeRecipient.envelope_id == envelope_id, EnvelopeRecipient.email == email
            )
        )
        return rows.one()


async def next_reminder(
    maker: Maker, firm_id: uuid.UUID, envelope_id: uuid.UUID, email: str
) -> datetime:
    """When the recipient's next reminder is due by the schedule, from their row."""
    envelope = await envelope_row(maker, firm_id, envelope_id)
    recipient = await recipient_row(maker, firm_id, envelope_id, email)
    assert recipient.sent_at is not None
    due = reminder_due(
        policy_of(envelope),
        await business_hours(maker, firm_id),
        sent_at=recipient.sent_at,
        reminders_sent=recipient.reminders_sent,
        last_reminded_at=recipient.last_reminded_at,
        now=recipient.last_reminded_at or recipient.sent_at,
    )
    assert due is not None
    return due


def link_in(message: EmailMessage) -> tuple[str, dict[str, str]]:
    """The recipient id and the token header of the signing link in ``message``."""
    found = LINK.search(text_of(message))
    assert found is not None, text_of(message)
    return found.group(1), {"X-Signing-Token": found.group(2)}


async def open_link(http: AsyncClient, message: EmailMessage) -> dict[str, Any]:
    """Open the link (recording ``viewed``) and consent; the signing view."""
    recipient_id, headers = link_in(message)
    view = await http.get(f"/v1/signing/{recipient_id}", headers=headers)
    assert view.status_code == 200, view.text
    consent = await http.post(
        f"/v1/signing/{recipient_id}/consent", json={"accepted": True}, headers=headers
    )
    assert consent.status_code == 200, consent.text
    body: dict[str, Any] = consent.json()
    return body


async def sign_by_link(http: AsyncClient, message: EmailMessage) -> None:
    """Sign through the public signing API with the link in ``message``: a typed
    signature and every text field filled."""
    recipient_id, headers = link_in(message)
    view = await open_link(http, message)
    fields = [{"field_id": f["id"], "value": "2026"} for f in view["fields"] if f["kind"] == "text"]
    signature = {"kind": "typed", "text": view["recipient"]["name"]}
    signed = await http.post(
        f"/v1/signing/{recipient_id}/sign",
        json={"signature": signature, "fields": fields},
        headers=headers,
    )
    assert signed.status_code == 200, signed.text


async def decline_by_link(http: AsyncClient, message: EmailMessage, reason: str) -> None:
    recipient_id, headers = link_in(message)
    await open_link(http, message)
    declined = await http.post(
        f"/v1/signing/{recipient_id}/decline", json={"reason": reason}, headers=headers
    )
    assert declined.status_code == 200, declined.text


async def skip(env: WorkflowEnvironment, moment: datetime) -> None:
    """Move the test server's clock to ``moment`` (the timers due before it fire)."""
    await env.sleep(moment - await env.get_current_time())
