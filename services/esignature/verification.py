"""The public verifier: is this PDF an intact firmflow-sealed document, from which envelope,
signed by whom and when?

pyHanko reads the file's seal (the ``firmflow-seal`` field, else its last signature) and
validates it: the digest over the signed bytes (intact), the signature (valid), the bytes
it covers (the whole file, nothing appended) and the DocMDP rules (no change after
certification). The signer's certificate is taken as its own trust anchor for that check:
what makes a seal **firmflow's** is its certificate's SHA-256 fingerprint, which must be a
platform key's (retired ones too) or the one recorded in the envelope's ``sealed`` events
(a firm's own certificate, even one it has since replaced).

The envelope is found across firms (``SystemPurpose.signature_verification``) by the
file's SHA-256, equal to a sealed ``EnvelopeDocument.signed_sha256`` when not a byte
changed; for a changed file, by the envelope id in the seal's reason. A changed file names
its envelope (id, title, firm), so its holder can ask the firm for the original, but not
its signers: those are listed only for an intact copy, the personal data of the trail not
being handed to whoever can edit a reason string in a PDF.

Untrusted input: anything the parser refuses is answered as ``sealed: false`` with a
problem in our own words (never the library's text)."""

import asyncio
import hashlib
import io
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import SystemPurpose, system_scope
from core.errors import AppError
from models import (
    Envelope,
    EnvelopeDocument,
    EnvelopeEvent,
    EnvelopeEventKind,
    EnvelopeRecipient,
    Firm,
    RecipientRole,
)
from services import throttle
from services.esignature.sealing import SEAL_FIELD, envelope_id_in
from services.esignature.sealing_keys import platform_fingerprints

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
_THROTTLE_PREFIX = f"{throttle.ADDRESS_PREFIX}verify:"

NOT_A_PDF = "The file is not a PDF this verifier can read"
NO_SEAL = "The file carries no digital signature"
ALTERED = "The document was changed after it was sealed: its content no longer matches the seal"
BAD_SIGNATURE = "The seal's signature does not verify against its certificate"
NOT_WHOLE = "Content was added to the file after it was sealed"
MODIFIED = "The file was modified after certification in a way its seal does not allow"
UNKNOWN_KEY = "The seal was not made with a firmflow key"
UNKNOWN_ENVELOPE = "No firmflow envelope has a sealed document with these exact bytes"


class TooManyVerifications(AppError):
    status = 429
    title = "Too many requests"
    slug = "too-many-requests"


@dataclass(frozen=True)
class Signer:
    name: str
    email: str
    signed_at: datetime


@dataclass(frozen=True)
class SignerCertificate:
    subject: str
    fingerprint: str


@dataclass
class Verification:
    document_sha256: str
    sealed: bool = False
    intact: bool = False
    firmflow: bool = False
    envelope_id: uuid.UUID | None = None
    envelope_title: str | None = None
    firm_name: str | None = None
    sealed_at: datetime | None = None
    signer_certificate: SignerCertificate | None = None
    signers: list[Signer] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Seal:
    """What the file's seal says, before any database is read."""

    verification: Verification
    fingerprint: str | None = None
    reason: str | None = None


def _problems(status: PdfSignatureStatus) -> list[str]:
    problems = []
    if not status.intact:
        problems.append(ALTERED)
    elif not status.valid:
        problems.append(BAD_SIGNATURE)
    if status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        problems.append(NOT_WHOLE)
    if status.docmdp_ok is False:
        problems.append(MODIFIED)
    return problems


def inspect_pdf(data: bytes) -> _Seal:
    """Read and validate the file's seal (blocking: run it in a thread)."""
    verification = Verification(document_sha256=hashlib.sha256(data).hexdigest())
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        signatures = reader.embedded_signatures
        if not signatures:
            verification.problems.append(NO_SEAL)
            return _Seal(verification)
        seal = next((s for s in signatures if s.field_name == SEAL_FIELD), signatures[-1])
        certificate = seal.signer_cert
        context = ValidationContext(trust_roots=[certificate], allow_fetching=False)
        status = validate_pdf_signature(seal, context)
        reason = seal.sig_object.get("/Reason")
        sealed_at = seal.self_reported_timestamp
    except Exception as exc:
        # An untrusted file: pyHanko reports a damaged or foreign one by many exception
        # types, and none of them may become a 500 or reach the client in its words.
        log.info("unreadable upload to the verifier", extra={"error": type(exc).__name__})
        verification.problems.append(NOT_A_PDF)
        return _Seal(verification)
    verification.sealed = True
    verification.problems.extend(_problems(status))
    verification.intact = not verification.problems
    verification.sealed_at = sealed_at
    fingerprint = certificate.sha256.hex()
    verification.signer_certificate = SignerCertificate(
        subject=certificate.subject.human_friendly, fingerprint=fingerprint
    )
    return _Seal(verification, fingerprint, str(reason) if reason is not None else None)


async def _envelope_by_hash(session: AsyncSession, sha256: str) -> tuple[Envelope, Firm] | None:
    row = (
        await session.execute(
            select(Envelope, Firm)
            .join(EnvelopeDocument, EnvelopeDocument.envelope_id == Envelope.id)
            .join(Firm, Firm.id == Envelope.firm_id)
            .where(EnvelopeDocument.signed_sha256 == sha256)
            .limit(1)
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def _envelope_by_id(
    session: AsyncSession, envelope_id: uuid.UUID
) -> tuple[Envelope, Firm] | None:
    row = (
        await session.execute(
            select(Envelope, Firm)
            .join(Firm, Firm.id == Envelope.firm_id)
            .where(Envelope.id == envelope_id)
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def _sealing_fingerprints(session: AsyncSession, envelope: Envelope) -> set[str]:
    details = await session.scalars(
        select(EnvelopeEvent.detail).where(
            EnvelopeEvent.firm_id == envelope.firm_id,
            EnvelopeEvent.envelope_id == envelope.id,
            EnvelopeEvent.kind == EnvelopeEventKind.sealed,
        )
    )
    return {str(value) for detail in details if (value := detail.get("certificate_sha256"))}


async def _signers(session: AsyncSession, envelope: Envelope) -> list[Signer]:
    rows = await session.execute(
        select(EnvelopeRecipient.name, EnvelopeRecipient.email, EnvelopeRecipient.signed_at)
        .where(
            EnvelopeRecipient.firm_id == envelope.firm_id,
            EnvelopeRecipient.envelope_id == envelope.id,
            EnvelopeRecipient.role != RecipientRole.cc,
            EnvelopeRecipient.signed_at.is_not(None),
        )
        .order_by(EnvelopeRecipient.signed_at)
    )
    return [
        Signer(name, email, signed_at) for name, email, signed_at in rows if signed_at is not None
    ]


async def _identify(session: AsyncSession, seal: _Seal) -> None:
    verification = seal.verification
    known = await platform_fingerprints(session)
    async with system_scope(session, SystemPurpose.signature_verification):
        found = await _envelope_by_hash(session, verification.document_sha256)
        by_hash = found is not None
        if found is None and (envelope_id := envelope_id_in(seal.reason)) is not None:
            found = await _envelope_by_id(session, envelope_id)
        if found is not None:
            envelope, firm = found
            known |= await _sealing_fingerprints(session, envelope)
            if seal.fingerprint in known:
                verification.envelope_id = envelope.id
                verification.envelope_title = envelope.title
                verification.firm_name = firm.name
                if by_hash and verification.intact:
                    verification.signers = await _signers(session, envelope)
    verification.firmflow = seal.fingerprint in known
    if not verification.firmflow:
        verification.problems.append(UNKNOWN_KEY)
    elif verification.envelope_id is None:
        verification.problems.append(UNKNOWN_ENVELOPE)


async def verify_pdf(session: AsyncSession, data: bytes) -> Verification:
    """Verify an uploaded file (at most ``MAX_UPLOAD_BYTES``, the route's bound)."""
    seal = await asyncio.to_thread(inspect_pdf, data)
    if seal.verification.sealed:
        await _identify(session, seal)
    return seal.verification


async def count_request(session: AsyncSession, client_address: str | None) -> None:
    """Count one verification against the client's address and refuse (429) past the
    address limit of services/throttle (100 in 15 minutes): verifying costs a PDF parse
    and a signature check, cheap enough for people and too dear to let a script loop."""
    key = throttle.address_key(client_address)
    if key is None:
        return
    keys = [key.replace(throttle.ADDRESS_PREFIX, _THROTTLE_PREFIX, 1)]
    try:
        await throttle.check(session, keys)
    except throttle.TooManyAttempts as exc:
        raise TooManyVerifications(
            "Too many verifications from your address; try again later", headers=exc.headers
        ) from None
    await throttle.record_failure(session, keys)
