"""An envelope sent through an outside provider (DocuSign, Dropbox Sign): sending it there,
voiding it there, and bringing its signed documents back as new versions of the library
documents. The steps of the envelope's process call these from its activities.

Sending is idempotent twice over: an envelope that already has its ``provider_ref`` is not
sent again (the row is locked while sending, so two attempts do not race), and an attempt
whose answer was lost before the ref was stored is found at the provider when it can be
(DocuSign: by our envelope id in its custom field; Dropbox Sign cannot be searched, see
providers/esignature_dropbox_sign.py). The signed documents are stored once per envelope
document (``signed_version_id`` set), so a retried step stores nothing twice."""

import logging
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from core.config import Settings, get_settings
from core.crypto import Cipher
from core.errors import Conflict
from models import (
    Envelope,
    EnvelopeDocument,
    EnvelopeField,
    EnvelopeRecipient,
    EnvelopeStatus,
    Firm,
    ProviderName,
)
from providers.esignature import (
    DocumentSpec,
    EnvelopeRequest,
    EsignatureProvider,
    FieldSpec,
    RecipientSpec,
    ReminderPolicy,
    Role,
)
from providers.http import HttpPool
from providers.storage import Storage
from services.documents.repository import VERSIONS
from services.esignature import signed_copies
from services.esignature.connections import provider_for
from services.esignature.pages import pinned_bytes
from services.esignature.repository import ENVELOPE_DOCUMENTS, ENVELOPES, FIELDS, RECIPIENTS

log = logging.getLogger("firmflow.esignature")


class NotAProviderEnvelope(Conflict):
    title = "Not sent through a provider"
    slug = "not-a-provider-envelope"


async def _provider_envelope(
    session: AsyncSession, firm_id: uuid.UUID, envelope_id: uuid.UUID, *, lock: bool = False
) -> Envelope:
    envelope = await ENVELOPES.get_or_404(session, firm_id, envelope_id, lock=lock)
    if envelope.provider == ProviderName.builtin:
        raise NotAProviderEnvelope("This envelope is signed on firmflow's own signing page")
    return envelope


async def _provider(
    session: AsyncSession, envelope: Envelope, pool: HttpPool, cipher: Cipher | None
) -> EsignatureProvider:
    cipher = cipher or Cipher.from_settings(get_settings())
    return await provider_for(session, envelope.firm_id, envelope.provider, cipher, pool)


async def _documents(
    session: AsyncSession, firm_id: uuid.UUID, envelope_id: uuid.UUID
) -> list[EnvelopeDocument]:
    return list(
        await session.scalars(
            ENVELOPE_DOCUMENTS.select(firm_id)
            .where(EnvelopeDocument.envelope_id == envelope_id)
            .order_by(EnvelopeDocument.position)
        )
    )


async def _recipients(session: AsyncSession, envelope: Envelope) -> list[EnvelopeRecipient]:
    return list(
        await session.scalars(
            RECIPIENTS.select(envelope.firm_id)
            .where(EnvelopeRecipient.envelope_id == envelope.id)
            .order_by(
                EnvelopeRecipient.routing_order,
                EnvelopeRecipient.created_at,
                EnvelopeRecipient.id,
            )
        )
    )


async def envelope_request(
    session: AsyncSession, storage: Storage, envelope: Envelope
) -> EnvelopeRequest:
    """What the provider is asked to send: the pinned versions' bytes, the recipients and
    their fields, the expiry and the reminder policy."""
    firm_id = envelope.firm_id
    rows = await _documents(session, firm_id, envelope.id)
    specs = []
    for row in rows:
        pinned = await VERSIONS.get_or_404(session, firm_id, row.version_id)
        data = await pinned_bytes(session, storage, firm_id, row)
        specs.append(DocumentSpec(name=pinned.file_name, data=data, page_sizes=row.page_sizes))
    index = {row.id: position for position, row in enumerate(rows)}
    fields = await session.scalars(
        FIELDS.select(firm_id)
        .where(EnvelopeField.envelope_id == envelope.id)
        .order_by(EnvelopeField.page, EnvelopeField.y, EnvelopeField.x, EnvelopeField.id)
    )
    now = datetime.now(UTC)
    return EnvelopeRequest(
        envelope_id=envelope.id,
        title=envelope.title,
        message=envelope.message,
        documents=specs,
        recipients=[
            RecipientSpec(r.id, r.name, r.email, Role(r.role), r.routing_order)
            for r in await _recipients(session, envelope)
        ],
        fields=[
            FieldSpec(
                recipient_id=f.recipient_id,
                document_index=index[f.envelope_document_id],
                kind=f.kind,
                page=f.page,
                x=f.x,
                y=f.y,
                width=f.width,
                height=f.height,
                required=f.required,
                label=f.label,
            )
            for f in fields
        ],
        expiry_days=envelope.expiry_days,
        reminders=ReminderPolicy(
            envelope.reminder_first_days, envelope.reminder_every_days, envelope.reminder_max
        ),
        created_at=envelope.created_at,
        expires_at=envelope.expires_at or now + timedelta(days=envelope.expiry_days),
    )


async def send_to_provider(
    session: AsyncSession,
    http: HttpPool,
    settings: Settings,
    firm_id: uuid.UUID,
    envelope_id: uuid.UUID,
    *,
    storage: Storage,
) -> None:
    """Create and send the envelope at its provider; store its ``provider_ref`` and each
    recipient's ``provider_recipient_id``. Nothing happens when it has a ref already."""
    envelope = await _provider_envelope(session, firm_id, envelope_id, lock=True)
    if envelope.provider_ref is not None:
        return
    provider = await _provider(session, envelope, http, Cipher.from_settings(settings))
    sent = await provider.create_and_send(await envelope_request(session, storage, envelope))
    envelope.provider_ref = sent.provider_ref
    for recipient in await _recipients(session, envelope):
        recipient.provider_recipient_id = sent.recipient_refs.get(recipient.id)
    await session.flush()
    log.info(
        "envelope sent at its provider",
        extra={"envelope_id": str(envelope.id), "provider": envelope.provider},
    )


async def void_at_provider(
    session: AsyncSession,
    http: HttpPool,
    firm_id: uuid.UUID,
    envelope_id: uuid.UUID,
    reason: str,
    *,
    cipher: Cipher | None = None,
) -> None:
    """Void (DocuSign) or cancel (Dropbox Sign) the envelope at its provider; nothing when
    it never reached the provider, and nothing more when it is voided there already.

    An expired envelope forgets its provider's envelope once that is voided: a re-send
    then creates a new one there (the provider's expired envelope cannot be extended), and
    late events of the old one name an envelope firmflow no longer knows."""
    envelope = await _provider_envelope(session, firm_id, envelope_id, lock=True)
    if envelope.provider_ref is None:
        return
    provider = await _provider(session, envelope, http, cipher)
    await provider.void(envelope.provider_ref, reason)
    if envelope.status == EnvelopeStatus.expired:
        log.info(
            "expired envelope detached from its provider's",
            extra={"envelope_id": str(envelope.id), "provider_ref": envelope.provider_ref},
        )
        envelope.provider_ref = None
        for recipient in await _recipients(session, envelope):
            recipient.provider_recipient_id = None
        await session.flush()


async def store_provider_documents(
    session: AsyncSession,
    http: HttpPool,
    storage: Storage,
    firm_id: uuid.UUID,
    envelope_id: uuid.UUID,
    *,
    cipher: Cipher | None = None,
) -> list[EnvelopeDocument]:
    """Fetch the provider's signed PDFs and store each as a new version of its document
    (``signed_version_id``, ``signed_sha256``, a ``sealed`` trail event naming the
    provider; a legal hold when the firm's policy says so). Returns every envelope
    document, in order; those stored before are not fetched again."""
    envelope = await _provider_envelope(session, firm_id, envelope_id, lock=True)
    rows = await _documents(session, firm_id, envelope_id)
    pending = [row for row in rows if row.signed_version_id is None]
    if not pending:
        return rows
    if envelope.provider_ref is None:
        raise NotAProviderEnvelope("This envelope was never sent at its provider")
    provider = await _provider(session, envelope, http, cipher)
    signed = await provider.fetch_signed_documents(
        envelope.provider_ref, [row.page_count for row in rows]
    )
    firm = await session.get_one(Firm, firm_id)
    for row, data in zip(rows, signed, strict=True):
        if row.signed_version_id is not None:
            continue
        await signed_copies.keep_signed_copy(
            session,
            storage,
            firm,
            envelope,
            row,
            data,
            note=f"Signed at {envelope.provider} (envelope {envelope.id})",
            source=envelope.provider,
            detail={"sealed_by": envelope.provider},
        )
    return rows
