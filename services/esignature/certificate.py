"""The audit certificate: one or more PDF pages that say what was signed, by whom, when
and from where.

It prints the envelope (id, title, firm, status, when it was sent and completed), each
document with two SHA-256 hashes, each recipient with their outcome, the address and
browser they signed or declined from and their signature, and every event of the trail
with its time in UTC, email, IP address and user agent.

The two hashes of a document:

- **before signing**: the version the envelope pinned (``original_sha256``, equal to that
  library version's ``sha256``);
- **of the signed pages**: the document with every field stamped in, just before this
  certificate was appended and the seal applied. That is as final as a hash inside the
  file can be: a file cannot contain its own hash. The sealed file's own SHA-256 is
  ``EnvelopeDocument.signed_sha256`` (the stored version's), which the standalone
  certificate (``GET /v1/envelopes/{id}/certificate``) prints once sealed, and by which
  the public verifier finds the envelope.

The copy inside a sealed file is rendered by the sealing with the stamped hashes it just
computed (``stamped=``); the standalone one reads them from the trail's ``sealed`` events.
Rendering is WeasyPrint (CPU-bound, run in a worker thread) with no URL fetched but the
inline signature images."""

import asyncio
import base64
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from weasyprint import HTML  # type: ignore[import-untyped]

from models import (
    Document,
    Envelope,
    EnvelopeDocument,
    EnvelopeEvent,
    EnvelopeEventKind,
    EnvelopeRecipient,
    Firm,
)
from services.esignature.repository import ENVELOPE_DOCUMENTS, ENVELOPES, EVENTS, RECIPIENTS
from services.esignature.stamping import DataOnlyFetcher

_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["j2"]),
    undefined=StrictUndefined,
)


def _utc(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


_TEMPLATES.filters["utc"] = _utc


@dataclass(frozen=True)
class CertificateDocument:
    title: str
    page_count: int
    original_sha256: str
    stamped_sha256: str | None
    sealed_sha256: str | None


@dataclass(frozen=True)
class CertificateRecipient:
    name: str
    email: str
    role: str
    routing_order: int
    status: str
    signed_at: datetime | None
    declined_at: datetime | None
    decline_reason: str | None
    ip_address: str | None
    user_agent: str | None
    signature_src: str | None
    signature_text: str | None


def _stamped_from_trail(events: list[EnvelopeEvent]) -> dict[str, str]:
    stamped: dict[str, str] = {}
    for event in events:
        if event.kind == EnvelopeEventKind.sealed and "envelope_document_id" in event.detail:
            stamped[event.detail["envelope_document_id"]] = event.detail.get("stamped_sha256", "")
    return stamped


async def _documents(
    session: AsyncSession, envelope: Envelope, stamped: dict[str, str], *, embedded: bool
) -> list[CertificateDocument]:
    rows = await session.execute(
        select(EnvelopeDocument, Document.title)
        .join(Document, Document.id == EnvelopeDocument.document_id)
        .where(
            ENVELOPE_DOCUMENTS.owned_by(envelope.firm_id),
            EnvelopeDocument.envelope_id == envelope.id,
        )
        .order_by(EnvelopeDocument.position)
    )
    return [
        CertificateDocument(
            title=title,
            page_count=row.page_count,
            original_sha256=row.original_sha256,
            stamped_sha256=stamped.get(str(row.id)) or None,
            sealed_sha256=None if embedded else row.signed_sha256,
        )
        for row, title in rows
    ]


def _recipient(recipient: EnvelopeRecipient, events: list[EnvelopeEvent]) -> CertificateRecipient:
    # Where they acted from: their signing (or declining) event's address and browser.
    outcome = next(
        (
            event
            for event in reversed(events)
            if event.recipient_id == recipient.id
            and event.kind in (EnvelopeEventKind.signed, EnvelopeEventKind.declined)
        ),
        None,
    )
    image = recipient.signature_image
    return CertificateRecipient(
        name=recipient.name,
        email=recipient.email,
        role=recipient.role,
        routing_order=recipient.routing_order,
        status=recipient.status,
        signed_at=recipient.signed_at,
        declined_at=recipient.declined_at,
        decline_reason=recipient.decline_reason,
        ip_address=outcome.ip_address if outcome else None,
        user_agent=outcome.user_agent if outcome else None,
        signature_src=(
            "data:image/png;base64," + base64.b64encode(image).decode() if image else None
        ),
        signature_text=recipient.signature_text,
    )


async def certificate_html(
    session: AsyncSession,
    firm_id: uuid.UUID,
    envelope_id: uuid.UUID,
    *,
    stamped: dict[uuid.UUID, str] | None = None,
) -> str:
    """The certificate as HTML. ``stamped`` (envelope document id → SHA-256 of its
    stamped pages) marks the copy that goes inside the sealed files."""
    envelope = await ENVELOPES.get_or_404(session, firm_id, envelope_id)
    firm = await session.get_one(Firm, firm_id)
    events = list(
        await session.scalars(
            EVENTS.select(firm_id)
            .where(EnvelopeEvent.envelope_id == envelope_id)
            .order_by(EnvelopeEvent.occurred_at, EnvelopeEvent.id)
        )
    )
    recipients = await session.scalars(
        RECIPIENTS.select(firm_id)
        .where(EnvelopeRecipient.envelope_id == envelope_id)
        .order_by(EnvelopeRecipient.routing_order, EnvelopeRecipient.created_at)
    )
    embedded = stamped is not None
    hashes = (
        {str(key): value for key, value in stamped.items()}
        if stamped is not None
        else _stamped_from_trail(events)
    )
    people = [_recipient(recipient, events) for recipient in recipients]
    # Sealing runs before the envelope is marked completed: the last signature completed it.
    signed = [person.signed_at for person in people if person.signed_at is not None]
    completed_at = envelope.completed_at or (max(signed) if embedded and signed else None)
    context: dict[str, Any] = {
        "envelope": envelope,
        "firm_name": firm.name,
        "documents": await _documents(session, envelope, hashes, embedded=embedded),
        "recipients": people,
        "completed_at": completed_at,
        "events": events,
        "embedded": embedded,
    }
    return _TEMPLATES.get_template("certificate.html.j2").render(context)


def certificate_pdf(html: str) -> bytes:
    """Lay the certificate out (blocking)."""
    pdf: bytes = HTML(string=html, url_fetcher=DataOnlyFetcher()).write_pdf()
    return pdf


async def render_certificate(
    session: AsyncSession,
    firm_id: uuid.UUID,
    envelope_id: uuid.UUID,
    *,
    stamped: dict[uuid.UUID, str] | None = None,
) -> bytes:
    """The audit certificate alone, as PDF (a 404 for another firm's envelope)."""
    html = await certificate_html(session, firm_id, envelope_id, stamped=stamped)
    return await asyncio.to_thread(certificate_pdf, html)
