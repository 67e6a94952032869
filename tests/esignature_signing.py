"""Signing page test data: an envelope sent through the envelopes API with the fields each
test needs, its recipients' signing tokens, and the page's requests with the
X-Signing-Token header."""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from httpx import ASGITransport, AsyncClient, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.config import Settings
from core.db import scope_to_firm
from models import (
    Envelope,
    EnvelopeDocument,
    EnvelopeEvent,
    EnvelopeField,
    EnvelopeRecipient,
    OutboxMessage,
)
from providers.storage import Storage
from services.esignature.signing_links import signing_url
from tests.esignature_factories import draft_envelope, send_envelope
from tests.factories import Actor
from tests.invitations import PUBLIC_URL
from tests.mailbox import Mailbox

USER_AGENT = "Mozilla/5.0 (signing tests)"


@asynccontextmanager
async def signing_app(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    storage: Storage,
    mailbox: Mailbox,
) -> AsyncIterator[AsyncClient]:
    """The app over ``sessionmaker``, its files in ``storage`` and its email by SMTP to
    ``mailbox``."""
    from api.app import create_app

    mailing = settings.model_copy(
        update={
            "email_backend": "smtp",
            "smtp_host": "127.0.0.1",
            "smtp_port": mailbox.port,
            "public_url": PUBLIC_URL,
        }
    )
    app = create_app(mailing, sessionmaker=sessionmaker, storage=storage)
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@dataclass(frozen=True)
class Party:
    name: str
    email: str
    role: str = "signer"
    routing_order: int = 1
    require_code: bool = False
    # Field kinds placed for this recipient: (kind, required, label).
    fields: tuple[tuple[str, bool, str | None], ...] = (
        ("signature", True, None),
        ("date_signed", True, None),
        ("text", True, "Tax year"),
        ("checkbox", False, "Send me a copy by post"),
    )


ADA = Party("Ada Lovelace", "ada@example.com")
GRACE = Party("Grace Hopper", "grace@example.com", routing_order=2)


@dataclass
class Sent:
    envelope: Envelope
    document: EnvelopeDocument
    recipients: list[EnvelopeRecipient]
    fields: dict[uuid.UUID, list[EnvelopeField]] = field(default_factory=dict)

    def of(self, index: int) -> EnvelopeRecipient:
        return self.recipients[index]


async def sent_envelope(db: AsyncSession, http: AsyncClient, actor: Actor, *parties: Party) -> Sent:
    """An envelope of one two-page library document to ``parties`` (Ada, then Grace, by
    default) with their fields, made and sent through the envelopes API (the workflow it
    starts does not run), read back as rows."""
    parties = parties or (ADA, GRACE)
    recipients = [
        {
            "name": party.name,
            "email": party.email,
            "role": party.role,
            "routing_order": party.routing_order,
            "require_code": party.require_code,
        }
        for party in parties
    ]
    draft = await draft_envelope(http, actor, recipients=recipients, with_fields=False)
    by_email = {recipient["email"]: recipient["id"] for recipient in draft["recipients"]}
    document = draft["documents"][0]
    specs = [
        {
            "recipient_id": by_email[party.email],
            "envelope_document_id": document["id"],
            "kind": kind,
            "page": 1 + position % document["page_count"],
            "x": 0.1 + 0.45 * (index % 2),
            "y": 0.05 + 0.1 * position + 0.04 * (index // 2),
            "width": 0.3,
            "height": 0.03,
            "required": required,
            "label": label,
        }
        for index, party in enumerate(parties)
        for position, (kind, required, label) in enumerate(party.fields)
    ]
    placed = await http.put(
        f"/v1/envelopes/{draft['id']}/fields", json={"fields": specs}, headers=actor.headers
    )
    assert placed.status_code == 200, placed.text
    await send_envelope(http, actor, draft["id"])
    return await _rows(db, actor, uuid.UUID(draft["id"]), [by_email[p.email] for p in parties])


async def _rows(db: AsyncSession, actor: Actor, envelope_id: uuid.UUID, order: list[str]) -> Sent:
    await scope_to_firm(db, actor.firm.id)
    envelope = await db.get_one(Envelope, envelope_id, populate_existing=True)
    document = await db.scalar(
        select(EnvelopeDocument).where(EnvelopeDocument.envelope_id == envelope_id)
    )
    assert document is not None
    rows = {
        str(recipient.id): recipient
        for recipient in await db.scalars(
            select(EnvelopeRecipient).where(EnvelopeRecipient.envelope_id == envelope_id)
        )
    }
    sent = Sent(envelope=envelope, document=document, recipients=[rows[i] for i in order])
    for recipient in sent.recipients:
        sent.fields[recipient.id] = list(
            await db.scalars(
                select(EnvelopeField)
                .where(EnvelopeField.recipient_id == recipient.id)
                .order_by(EnvelopeField.y, EnvelopeField.x)
            )
        )
    return sent


def token_of(settings: Settings, recipient: EnvelopeRecipient, expires_at: datetime) -> str:
    """The ``t`` of the recipient's signing link."""
    url = signing_url(settings, recipient, expires_at)
    return parse_qs(urlsplit(url).query)["t"][0]


def link_of(settings: Settings, sent: Sent, index: int) -> str:
    assert sent.envelope.expires_at is not None
    return token_of(settings, sent.of(index), sent.envelope.expires_at)


def headers(token: str | None) -> dict[str, str]:
    out = {"User-Agent": USER_AGENT}
    if token is not None:
        out["X-Signing-Token"] = token
    return out


async def page(
    http: AsyncClient, token: str | None, recipient_id: uuid.UUID, method: str = "GET", **kw: Any
) -> Response:
    """``/v1/signing/<recipient>`` (``method`` on ``path`` under it, if given)."""
    path = kw.pop("path", "")
    return await http.request(
        method, f"/v1/signing/{recipient_id}{path}", headers=headers(token), **kw
    )


async def consent(http: AsyncClient, token: str, recipient_id: uuid.UUID) -> Response:
    return await page(http, token, recipient_id, "POST", path="/consent", json={"accepted": True})


def sign_body(sent: Sent, index: int, **overrides: Any) -> dict[str, Any]:
    """A complete sign request for recipient ``index``: a typed signature, the text and
    checkbox fields filled."""
    recipient = sent.of(index)
    values = []
    for placed in sent.fields[recipient.id]:
        if placed.kind == "text":
            values.append({"field_id": str(placed.id), "value": "2026"})
        elif placed.kind == "checkbox":
            values.append({"field_id": str(placed.id), "value": "false"})
    body: dict[str, Any] = {
        "signature": {"kind": "typed", "text": recipient.name},
        "fields": values,
    }
    return {**body, **overrides}


async def events(db: AsyncSession, sent: Sent, kind: str) -> list[EnvelopeEvent]:
    await scope_to_firm(db, sent.envelope.firm_id)
    return list(
        await db.scalars(
            select(EnvelopeEvent)
            .where(EnvelopeEvent.envelope_id == sent.envelope.id, EnvelopeEvent.kind == kind)
            .order_by(EnvelopeEvent.occurred_at, EnvelopeEvent.id)
        )
    )


async def signals(db: AsyncSession, sent: Sent) -> list[dict[str, Any]]:
    """The RECIPIENT_SIGNAL messages queued for the envelope's workflow: their args."""
    await scope_to_firm(db, sent.envelope.firm_id)
    rows = await db.scalars(
        select(OutboxMessage)
        .where(
            OutboxMessage.firm_id == sent.envelope.firm_id,
            OutboxMessage.kind == "signal_workflow",
            OutboxMessage.payload["workflow_id"].astext == f"envelope-{sent.envelope.id}",
            OutboxMessage.payload["signal"].astext == "recipient_changed",
        )
        .order_by(OutboxMessage.created_at, OutboxMessage.id)
    )
    return [dict(row.payload["arg"]) for row in rows]


async def reloaded(db: AsyncSession, recipient: EnvelopeRecipient) -> EnvelopeRecipient:
    await scope_to_firm(db, recipient.firm_id)
    await db.refresh(recipient)
    return recipient
