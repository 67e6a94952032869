"""Sealing a completed envelope: each document stamped with what its recipients filled in,
the audit certificate appended, and the whole sealed with a PAdES signature, stored as the
document's next version.

The seal is PAdES baseline B-B (``ETSI.CAdES.detached``, SHA-256), made with pyHanko in
the signature field ``firmflow-seal``; its reason names the envelope id (the verifier
finds the envelope by it when the bytes were altered). It is a certification signature
with DocMDP "no changes allowed": a PDF reader flags any later change, an incremental
update included. No timestamp authority is called, so the signing time is the server's
own claim (B-B, not B-T); docs/esignature/seal.md says how to add one. The key is the
firm's own certificate when it uploaded one, else the active platform key
(services/esignature/sealing_keys.py).

Idempotent: the envelope is locked and only documents without a ``signed_version_id``
are sealed, all in the caller's transaction, so a retried activity finds them sealed and
adds nothing. Stamping, rendering and signing are CPU-bound and run in worker threads."""

import asyncio
import hashlib
import io
import logging
import uuid

from pyhanko.keys import load_certs_from_pemder_data, load_private_key_from_pemder_data
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.signers.pdf_signer import PdfSignatureMetadata, PdfSigner
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pypdf import PdfReader, PdfWriter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.config import Settings
from core.crypto import Cipher
from core.errors import Conflict
from models import (
    Envelope,
    EnvelopeDocument,
    EnvelopeField,
    EnvelopeRecipient,
    EnvelopeStatus,
    Firm,
    RecipientRole,
    RecipientStatus,
)
from providers.storage import Storage
from services.esignature import signed_copies
from services.esignature.certificate import render_certificate
from services.esignature.pages import pinned_bytes
from services.esignature.repository import ENVELOPE_DOCUMENTS, ENVELOPES, FIELDS, RECIPIENTS
from services.esignature.sealing_keys import SealKey, sealing_key
from services.esignature.stamping import stamp_pdf, stamps_for

log = logging.getLogger(__name__)

SEAL_FIELD = "firmflow-seal"
REASON_PREFIX = "Sealed by firmflow: envelope "
LOCATION = "firmflow"


class NotReadyToSeal(Conflict):
    title = "Envelope not complete"
    slug = "envelope-not-complete"


def reason_for(envelope_id: uuid.UUID) -> str:
    return f"{REASON_PREFIX}{envelope_id}"


def envelope_id_in(reason: str | None) -> uuid.UUID | None:
    """The envelope id a seal's reason names, if it is one of ours."""
    if not reason or not reason.startswith(REASON_PREFIX):
        return None
    try:
        return uuid.UUID(reason.removeprefix(REASON_PREFIX).strip())
    except ValueError:
        return None


def _signer(key: SealKey) -> signers.SimpleSigner:
    certificate = next(iter(load_certs_from_pemder_data(key.certificate_pem.encode())))
    registry = SimpleCertificateStore()  # type: ignore[no-untyped-call]
    registry.register(certificate)
    return signers.SimpleSigner(
        signing_cert=certificate,
        signing_key=load_private_key_from_pemder_data(key.key_pem, passphrase=None),
        cert_registry=registry,
    )


def seal_pdf(stamped: bytes, certificate: bytes, key: SealKey, envelope_id: uuid.UUID) -> bytes:
    """``stamped`` with the ``certificate`` pages appended, sealed (blocking)."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(stamped)))
    writer.append(PdfReader(io.BytesIO(certificate)))
    unsealed = io.BytesIO()
    writer.write(unsealed)
    metadata = PdfSignatureMetadata(
        field_name=SEAL_FIELD,
        reason=reason_for(envelope_id),
        location=LOCATION,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        certify=True,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
    )
    sealed = PdfSigner(metadata, _signer(key)).sign_pdf(IncrementalPdfFileWriter(unsealed))
    data: bytes = sealed.getvalue()
    return data


async def _ready(session: AsyncSession, firm_id: uuid.UUID, envelope_id: uuid.UUID) -> Envelope:
    envelope = await ENVELOPES.get_or_404(session, firm_id, envelope_id, lock=True)
    if envelope.status in (EnvelopeStatus.voided, EnvelopeStatus.declined, EnvelopeStatus.expired):
        raise NotReadyToSeal(f"A {envelope.status} envelope is not sealed")
    outstanding = await session.scalar(
        select(EnvelopeRecipient.id).where(
            RECIPIENTS.owned_by(firm_id),
            EnvelopeRecipient.envelope_id == envelope_id,
            EnvelopeRecipient.role != RecipientRole.cc,
            EnvelopeRecipient.status != RecipientStatus.signed,
        )
    )
    if outstanding is not None:
        raise NotReadyToSeal("Every signer and approver must have signed before the seal")
    return envelope


async def _stamped(
    session: AsyncSession,
    storage: Storage,
    firm: Firm,
    pending: list[EnvelopeDocument],
    envelope_id: uuid.UUID,
) -> dict[uuid.UUID, bytes]:
    fields = list(
        await session.scalars(
            FIELDS.select(firm.id).where(EnvelopeField.envelope_id == envelope_id)
        )
    )
    recipients = {
        recipient.id: recipient
        for recipient in await session.scalars(
            RECIPIENTS.select(firm.id).where(EnvelopeRecipient.envelope_id == envelope_id)
        )
    }
    stamped = {}
    for envelope_document in pending:
        original = await pinned_bytes(session, storage, firm.id, envelope_document)
        own = [field for field in fields if field.envelope_document_id == envelope_document.id]
        stamped[envelope_document.id] = await asyncio.to_thread(
            stamp_pdf, original, stamps_for(own, recipients)
        )
    return stamped


async def seal_envelope(
    session: AsyncSession,
    storage: Storage,
    settings: Settings,
    firm_id: uuid.UUID,
    envelope_id: uuid.UUID,
) -> list[EnvelopeDocument]:
    """Seal every document of the completed envelope not sealed yet; returns all of the
    envelope's documents, in order, sealed. A 409 while a signer or approver has not
    signed, or for a voided, declined or expired envelope."""
    envelope = await _ready(session, firm_id, envelope_id)
    firm = await session.get_one(Firm, firm_id)
    all_documents = list(
        await session.scalars(
            ENVELOPE_DOCUMENTS.select(firm_id)
            .where(EnvelopeDocument.envelope_id == envelope_id)
            .order_by(EnvelopeDocument.position)
        )
    )
    pending = [row for row in all_documents if row.signed_version_id is None]
    if not pending:
        return all_documents
    stamped = await _stamped(session, storage, firm, pending, envelope_id)
    hashes = {key: hashlib.sha256(value).hexdigest() for key, value in stamped.items()}
    certificate = await render_certificate(session, firm_id, envelope_id, stamped=hashes)
    key = await sealing_key(session, Cipher.from_settings(settings), firm_id)
    for envelope_document in pending:
        sealed = await asyncio.to_thread(
            seal_pdf, stamped[envelope_document.id], certificate, key, envelope_id
        )
        await signed_copies.keep_signed_copy(
            session,
            storage,
            firm,
            envelope,
            envelope_document,
            sealed,
            note=f"Signed and sealed (envelope {envelope.id})",
            source="system",
            detail={
                "stamped_sha256": hashes[envelope_document.id],
                "certificate_sha256": key.fingerprint,
                "sealed_by": "firm" if key.firm_id is not None else "platform",
            },
        )
    return all_documents
