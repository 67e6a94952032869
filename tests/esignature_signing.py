"""Signing page test data: an envelope as the workflow leaves it once sent (rows written
directly: the signing tests need a sent envelope, not the path that sends one), its
recipients' signing tokens, and the page's requests with the X-Signing-Token header."""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from httpx import ASGITransport, AsyncClient, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.config import Settings
from core.db import scope_to_firm
from models import (
    DocumentVersion,
    Envelope,
    EnvelopeDocument,
    EnvelopeEvent,
    EnvelopeField,
    EnvelopeRecipient,
    OutboxMessage,
)
from providers.storage import Storage
from services.esignature.pages import pdf_layout
from services.esignature.signing_links import signing_url
from tests.esignature_factories import sample_pdf, upload_pdf
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
    """A sent envelope of one two-page library document to ``parties`` (Ada, then Grace,
    by default), the first group's recipients ``sent`` and the others ``created``."""
    parties = parties or (ADA, GRACE)
    uploaded = await upload_pdf(http, actor)
    await scope_to_firm(db, actor.firm.id)
    version = await db.get_one(DocumentVersion, uuid.UUID(uploaded["current_version_id"]))
    page_count, page_sizes = pdf_layout(sample_pdf())
    now = datetime.now(UTC)
    envelope = Envelope(
        firm_id=actor.firm.id,
        title="Engagement letter 2026",
        message="Please sign.",
        status="sent",
        expires_at=now + timedelta(days=30),
        send_round=1,
        sent_at=now,
    )
    db.add(envelope)
    await db.flush()
    document = EnvelopeDocument(
        firm_id=actor.firm.id,
        envelope_id=envelope.id,
        document_id=version.document_id,
        version_id=version.id,
        position=1,
        original_sha256=version.sha256,
        page_count=page_count,
        page_sizes=page_sizes,
    )
    db.add(document)
    first = min(party.routing_order for party in parties)
    recipients = [
        EnvelopeRecipient(
            firm_id=actor.firm.id,
            envelope_id=envelope.id,
            name=party.name,
            email=party.email,
            role=party.role,
            routing_order=party.routing_order,
            require_code=party.require_code,
            status="sent" if party.routing_order == first else "created",
            sent_at=now if party.routing_order == first else None,
        )
        for party in parties
    ]
    db.add_all(recipients)
    await db.flush()
    sent = Sent(envelope=envelope, document=document, recipients=recipients)
    for index, (party, recipient) in enumerate(zip(parties, recipients, strict=True)):
        placed = [
            EnvelopeField(
                firm_id=actor.firm.id,
                envelope_id=envelope.id,
                recipient_id=recipient.id,
                envelope_document_id=document.id,
                kind=kind,
                page=1 + position % page_count,
                x=0.1,
                y=0.05 + 0.1 * position + 0.02 * index,
                width=0.3,
                height=0.05,
                required=required,
                label=label,
            )
            for position, (kind, required, label) in enumerate(party.fields)
        ]
        db.add_all(placed)
        sent.fields[recipient.id] = placed
    await db.commit()
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
