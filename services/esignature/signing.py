"""The built-in provider's signing page, seen from the API: a recipient opens their part of
an envelope with the token of their signing link (services/esignature/signing_links.py),
reads the ESIGN/UETA disclosure and consents, verifies a one-time code when the sender
asked for one (signing_codes.py), looks at the pages, then signs (signing_submit.py) or
declines.

The token names the firm; everything after it runs in a tenant session of that firm,
limited to the one recipient the token was signed for. The refusals, in the order they are
checked: the link (403 not ours, another recipient's, replaced by a correction; 410
expired), the envelope (410 once no longer out for signature: voided, expired, completed,
declined), the recipient (409 already signed or declined, a CC who has nothing to sign, an
earlier group still signing) and the page's own steps (409 consent or code first)."""

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.config import Settings
from core.db import scope_to_firm
from core.errors import AppError, Conflict, NotFound, Unprocessable
from models import (
    Document,
    Envelope,
    EnvelopeDocument,
    EnvelopeEventKind,
    EnvelopeField,
    EnvelopeRecipient,
    EnvelopeStatus,
    RecipientRole,
    RecipientStatus,
)
from models import Firm as FirmRow
from providers.storage import Storage
from services.esignature import disclosure, pages, progress, trail
from services.esignature.repository import ENVELOPE_DOCUMENTS, ENVELOPES, FIELDS, RECIPIENTS
from services.esignature.signing_links import SigningLinkInvalid, read_token, require_current

SOURCE = "builtin"
MAX_DECLINE_REASON = progress.MAX_DECLINE_REASON


class EnvelopeClosed(AppError):
    status = 410
    title = "Envelope no longer open"
    slug = "envelope-closed"


class RecipientDone(Conflict):
    title = "Already answered"
    slug = "recipient-done"


class NotYourTurn(Conflict):
    title = "Not your turn yet"
    slug = "not-your-turn"


class ConsentRequired(Conflict):
    title = "Consent required"
    slug = "consent-required"


class CodeRequired(Conflict):
    title = "Code required"
    slug = "code-required"


_CLOSED = {
    EnvelopeStatus.draft: "This envelope has not been sent",
    EnvelopeStatus.completed: "Everyone has signed this envelope; the signed copy is emailed "
    "to every recipient",
    EnvelopeStatus.declined: "This envelope was declined and can no longer be signed",
    EnvelopeStatus.expired: "This envelope has expired; ask the sender to send it again",
    EnvelopeStatus.voided: "The sender voided this envelope; it can no longer be signed",
}


@dataclass(frozen=True)
class Visitor:
    """Who is acting on the page, for the trail."""

    ip_address: str | None
    user_agent: str | None


@dataclass
class Signing:
    """One recipient's opened link, in a session scoped to their firm."""

    firm: FirmRow
    envelope: Envelope
    recipient: EnvelopeRecipient


@dataclass(frozen=True)
class SigningView:
    firm_name: str
    envelope: Envelope
    recipient: EnvelopeRecipient
    needs_consent: bool
    needs_code: bool
    can_sign: bool
    disclosure: str
    disclosure_version: str
    documents: list[tuple[EnvelopeDocument, str]]
    fields: list[EnvelopeField]


async def open_signing(
    session: AsyncSession,
    settings: Settings,
    recipient_id: uuid.UUID,
    token: str | None,
    *,
    lock: bool = False,
) -> Signing:
    """The recipient the token opens (held FOR UPDATE when ``lock``: a change to it waits
    for any other in flight, so a double submit signs once), their envelope and firm."""
    claims = read_token(settings, token, recipient_id=recipient_id)
    await scope_to_firm(session, claims.firm_id)
    recipient = await RECIPIENTS.get(session, claims.firm_id, recipient_id, lock=lock)
    if recipient is None:
        # Signed by us, then removed from its draft: as good as another recipient's.
        raise SigningLinkInvalid("This signing link is not valid; ask the sender for a new one")
    require_current(claims, recipient)
    envelope = await ENVELOPES.get_or_404(session, claims.firm_id, recipient.envelope_id)
    firm = await session.get_one(FirmRow, claims.firm_id)
    return Signing(firm=firm, envelope=envelope, recipient=recipient)


def require_open(signing: Signing) -> None:
    if signing.envelope.status != EnvelopeStatus.sent:
        raise EnvelopeClosed(_CLOSED[EnvelopeStatus(signing.envelope.status)])


def require_pending(signing: Signing) -> None:
    """409 unless the recipient still has something to do."""
    recipient = signing.recipient
    if recipient.status == RecipientStatus.signed:
        raise RecipientDone("You have already signed this envelope")
    if recipient.status == RecipientStatus.declined:
        raise RecipientDone("You have declined this envelope")
    if recipient.role == RecipientRole.cc:
        raise RecipientDone("You receive a copy of this envelope when it is complete")


async def earlier_groups_done(session: AsyncSession, signing: Signing) -> bool:
    """Whether every signer and approver of an earlier routing group has signed."""
    waiting = await session.scalar(
        select(func.count())
        .select_from(EnvelopeRecipient)
        .where(
            RECIPIENTS.owned_by(signing.firm.id),
            EnvelopeRecipient.envelope_id == signing.envelope.id,
            EnvelopeRecipient.routing_order < signing.recipient.routing_order,
            EnvelopeRecipient.role != RecipientRole.cc,
            EnvelopeRecipient.status != RecipientStatus.signed,
        )
    )
    return not waiting


async def require_turn(session: AsyncSession, signing: Signing) -> None:
    if not await earlier_groups_done(session, signing):
        raise NotYourTurn("Recipients before you have not finished yet; you will get an email")


def require_access(signing: Signing) -> None:
    """409 until the recipient consented and, when asked for, verified their code."""
    if signing.recipient.consented_at is None:
        raise ConsentRequired("Consent to sign electronically first")
    if needs_code(signing.recipient):
        raise CodeRequired("Enter the code we emailed you first")


def needs_code(recipient: EnvelopeRecipient) -> bool:
    return recipient.require_code and recipient.code_verified_at is None


async def view(
    session: AsyncSession,
    settings: Settings,
    recipient_id: uuid.UUID,
    token: str | None,
    visitor: Visitor,
) -> SigningView:
    """What the page shows; the first opening records the recipient's ``viewed``."""
    signing = await open_signing(session, settings, recipient_id, token)
    require_open(signing)
    await progress.recipient_changed(
        session,
        signing.envelope,
        signing.recipient,
        "viewed",
        source=SOURCE,
        ip_address=visitor.ip_address,
        user_agent=visitor.user_agent,
    )
    return await view_of(session, signing)


async def view_of(session: AsyncSession, signing: Signing) -> SigningView:
    firm_id, envelope, recipient = signing.firm.id, signing.envelope, signing.recipient
    documents = (
        await session.execute(
            select(EnvelopeDocument, Document.title)
            .join(Document, Document.id == EnvelopeDocument.document_id)
            .where(
                ENVELOPE_DOCUMENTS.owned_by(firm_id),
                EnvelopeDocument.envelope_id == envelope.id,
            )
            .order_by(EnvelopeDocument.position)
        )
    ).all()
    positions = {document.id: document.position for document, _ in documents}
    fields = list(
        await session.scalars(
            FIELDS.select(firm_id).where(EnvelopeField.recipient_id == recipient.id)
        )
    )
    fields.sort(key=lambda f: (positions.get(f.envelope_document_id, 0), f.page, f.y, f.x))
    pending = recipient.status not in (RecipientStatus.signed, RecipientStatus.declined)
    can_sign = (
        envelope.status == EnvelopeStatus.sent
        and pending
        and recipient.role != RecipientRole.cc
        and await earlier_groups_done(session, signing)
    )
    return SigningView(
        firm_name=signing.firm.name,
        envelope=envelope,
        recipient=recipient,
        needs_consent=recipient.consented_at is None,
        needs_code=needs_code(recipient),
        can_sign=can_sign,
        disclosure=disclosure.disclosure_for(signing.firm.name),
        disclosure_version=disclosure.VERSION,
        documents=[(document, title) for document, title in documents],
        fields=fields,
    )


async def consent(
    session: AsyncSession,
    settings: Settings,
    recipient_id: uuid.UUID,
    token: str | None,
    visitor: Visitor,
) -> SigningView:
    """Record the recipient's consent to sign electronically (once; again is a no-op)."""
    signing = await open_signing(session, settings, recipient_id, token, lock=True)
    require_open(signing)
    require_pending(signing)
    recipient = signing.recipient
    if recipient.consented_at is None:
        recipient.consented_at = datetime.now(UTC)
        await trail.record_event(
            session,
            signing.firm.id,
            signing.envelope.id,
            EnvelopeEventKind.consented,
            recipient=recipient,
            ip_address=visitor.ip_address,
            user_agent=visitor.user_agent,
            source=SOURCE,
            detail={"disclosure_version": disclosure.VERSION},
        )
        await session.flush()
    return await view_of(session, signing)


async def page_png(
    session: AsyncSession,
    storage: Storage,
    settings: Settings,
    recipient_id: uuid.UUID,
    token: str | None,
    *,
    envelope_document_id: uuid.UUID,
    page: int,
    width_px: int,
) -> bytes:
    """A page of one of the envelope's documents as PNG, once the recipient may see them."""
    signing = await open_signing(session, settings, recipient_id, token)
    require_open(signing)
    require_access(signing)
    document = await ENVELOPE_DOCUMENTS.get(
        session,
        signing.firm.id,
        envelope_document_id,
        EnvelopeDocument.envelope_id == signing.envelope.id,
    )
    if document is None or not 1 <= page <= document.page_count:
        raise NotFound("This envelope has no such page")
    data = await pages.pinned_bytes(session, storage, signing.firm.id, document)
    return await asyncio.to_thread(pages.render_page_png, data, page, width_px=width_px)


async def decline(
    session: AsyncSession,
    settings: Settings,
    recipient_id: uuid.UUID,
    token: str | None,
    visitor: Visitor,
    *,
    reason: str,
) -> SigningView:
    """The recipient declines with a reason; the envelope's workflow ends it as declined."""
    signing = await open_signing(session, settings, recipient_id, token, lock=True)
    require_open(signing)
    require_pending(signing)
    if needs_code(signing.recipient):
        raise CodeRequired("Enter the code we emailed you first")
    reason = reason.strip()
    if not reason:
        detail = "Say why you decline"
        raise Unprocessable(detail, errors=[{"pointer": "/reason", "detail": detail}])
    declined = await progress.recipient_changed(
        session,
        signing.envelope,
        signing.recipient,
        "declined",
        source=SOURCE,
        ip_address=visitor.ip_address,
        user_agent=visitor.user_agent,
        decline_reason=reason[:MAX_DECLINE_REASON],
    )
    if not declined:
        raise RecipientDone("You have already answered this envelope")
    return await view_of(session, signing)
