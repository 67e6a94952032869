"""Sealing a completed envelope: the stamped document with its audit certificate, sealed
with PAdES and stored as the document's next version; checked with pyHanko's own
validator, byte for byte against what was stored, and under retries."""

import io
from typing import Any

import pytest
from pyhanko.keys import load_certs_from_pemder_data
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pypdf import PdfReader
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.config import Settings
from core.db import scope_to_firm
from models import (
    Document,
    DocumentStatus,
    DocumentVersion,
    EnvelopeDocument,
    EnvelopeEvent,
    EnvelopeRecipient,
    Firm,
    LegalHold,
    PlatformSigningKey,
)
from providers.storage_filesystem import FilesystemStorage
from services.esignature.certificate import render_certificate
from services.esignature.sealing import NotReadyToSeal, seal_envelope
from tests.esignature_sealing import (
    ADA_UA,
    GRACE_UA,
    TAX_YEAR,
    completed_envelope,
    platform_key,
    sha256,
    stored_bytes,
)
from tests.factories import Actor

__all__ = ["platform_key"]


async def validate(data: bytes, certificate_pem: str) -> tuple[PdfSignatureStatus, Any]:
    """pyHanko's validation of the file's only signature, trusting ``certificate_pem``."""
    reader = PdfFileReader(io.BytesIO(data))
    assert len(reader.embedded_signatures) == 1
    signature = reader.embedded_signatures[0]
    root = next(iter(load_certs_from_pemder_data(certificate_pem.encode())))
    context = ValidationContext(trust_roots=[root], allow_fetching=False)
    return await async_validate_pdf_signature(signature, context), signature


async def _seal(
    db: AsyncSession, storage: FilesystemStorage, settings: Settings, owner: Actor
) -> tuple[Any, list[EnvelopeDocument]]:
    completed = await completed_envelope(db, storage, owner)
    sealed = await seal_envelope(db, storage, settings, owner.firm.id, completed.envelope.id)
    await db.commit()
    return completed, sealed


async def test_the_sealed_pdf_is_intact_trusted_and_covers_the_whole_file(
    db: AsyncSession,
    storage: FilesystemStorage,
    settings: Settings,
    owner: Actor,
    platform_key: PlatformSigningKey,
) -> None:
    completed, sealed = await _seal(db, storage, settings, owner)
    [envelope_document] = sealed
    assert envelope_document.signed_version_id is not None
    version, blob, data = await stored_bytes(db, storage, envelope_document.signed_version_id)

    status, signature = await validate(data, platform_key.certificate_pem)
    assert status.intact and status.valid and status.trusted
    assert status.bottom_line
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert status.modification_level == ModificationLevel.NONE
    assert status.docmdp_ok
    assert signature.field_name == "firmflow-seal"
    assert str(completed.envelope.id) in str(signature.sig_object["/Reason"])
    assert status.signing_cert.sha256.hex() == platform_key.fingerprint_sha256

    # The stored version is the sealed file: the same hash on the row, the blob and the bytes.
    assert envelope_document.signed_sha256 == version.sha256 == blob.sha256 == sha256(data)
    assert version.document_id == completed.pinned.document_id
    assert version.number == completed.pinned.number + 1
    assert version.file_name == "letter-signed.pdf"


async def test_a_copy_altered_by_one_byte_is_reported_altered(
    db: AsyncSession,
    storage: FilesystemStorage,
    settings: Settings,
    owner: Actor,
    platform_key: PlatformSigningKey,
) -> None:
    _, [envelope_document] = await _seal(db, storage, settings, owner)
    assert envelope_document.signed_version_id is not None
    _, _, data = await stored_bytes(db, storage, envelope_document.signed_version_id)
    altered = bytearray(data)
    # A byte in the middle of the stamped content, well inside the seal's byte range.
    altered[len(data) // 3] ^= 0x01

    status, _ = await validate(bytes(altered), platform_key.certificate_pem)
    assert not status.intact
    assert not status.bottom_line


async def test_the_certificate_prints_the_hashes_of_the_stored_versions_and_the_trail(
    db: AsyncSession,
    storage: FilesystemStorage,
    settings: Settings,
    owner: Actor,
    platform_key: PlatformSigningKey,
) -> None:
    completed, [envelope_document] = await _seal(db, storage, settings, owner)
    assert envelope_document.signed_version_id is not None
    _, _, data = await stored_bytes(db, storage, envelope_document.signed_version_id)
    pinned_bytes = (await stored_bytes(db, storage, completed.pinned.id))[2]
    reader = PdfReader(io.BytesIO(data))
    # The one page of the document, then the certificate.
    stamped_page = reader.pages[0].extract_text()
    certificate = " ".join(page.extract_text() for page in reader.pages[1:])
    certificate_flat = "".join(certificate.split())

    assert TAX_YEAR in stamped_page
    assert "Audit certificate" in certificate
    assert str(completed.envelope.id) in certificate_flat
    # Before signing: the pinned version's hash, which is its bytes' hash.
    assert completed.envelope_document.original_sha256 == completed.pinned.sha256
    assert completed.pinned.sha256 == sha256(pinned_bytes)
    assert completed.pinned.sha256 in certificate_flat
    # The signed pages' hash, as recorded in the trail, on the page.
    sealed_event = await db.scalar(
        select(EnvelopeEvent).where(
            EnvelopeEvent.envelope_id == completed.envelope.id, EnvelopeEvent.kind == "sealed"
        )
    )
    assert sealed_event is not None
    stamped_sha256 = sealed_event.detail["stamped_sha256"]
    assert stamped_sha256 in certificate_flat
    assert sealed_event.detail["signed_sha256"] == envelope_document.signed_sha256
    assert sealed_event.detail["certificate_sha256"] == platform_key.fingerprint_sha256
    # Every signer, with where they signed from, and the trail's addresses in UTC.
    for text in ("Ada Lovelace", "grace@example.com", "203.0.113.7", "198.51.100.23", "UTC"):
        assert text in certificate
    assert "".join(ADA_UA.split()) in certificate_flat
    assert "".join(GRACE_UA.split()) in certificate_flat
    assert certificate.count("consented") == 2


async def test_sealing_twice_stores_one_version(
    db: AsyncSession,
    storage: FilesystemStorage,
    settings: Settings,
    owner: Actor,
    platform_key: PlatformSigningKey,
) -> None:
    completed, [first] = await _seal(db, storage, settings, owner)
    [again] = await seal_envelope(db, storage, settings, owner.firm.id, completed.envelope.id)

    assert again.signed_version_id == first.signed_version_id
    versions = await db.scalar(
        select(func.count())
        .select_from(DocumentVersion)
        .where(DocumentVersion.document_id == completed.pinned.document_id)
    )
    assert versions == 2
    sealed_events = await db.scalar(
        select(func.count())
        .select_from(EnvelopeEvent)
        .where(EnvelopeEvent.envelope_id == completed.envelope.id, EnvelopeEvent.kind == "sealed")
    )
    assert sealed_events == 1


@pytest.mark.parametrize("hold", [True, False])
async def test_a_legal_hold_is_placed_when_the_firm_asks_for_one(
    db: AsyncSession,
    storage: FilesystemStorage,
    settings: Settings,
    owner: Actor,
    platform_key: PlatformSigningKey,
    hold: bool,
) -> None:
    await scope_to_firm(db, owner.firm.id)
    firm = await db.get_one(Firm, owner.firm.id)
    firm.esignature_legal_hold = hold
    await db.flush()
    completed, [envelope_document] = await _seal(db, storage, settings, owner)

    holds = list(
        await db.scalars(
            select(LegalHold).where(LegalHold.document_id == completed.pinned.document_id)
        )
    )
    if not hold:
        assert holds == []
        return
    [placed] = holds
    assert placed.released_at is None
    assert str(completed.envelope.id) in placed.reason
    assert envelope_document.signed_version_id is not None


async def test_an_envelope_with_a_signer_outstanding_is_not_sealed(
    db: AsyncSession,
    storage: FilesystemStorage,
    settings: Settings,
    owner: Actor,
    platform_key: PlatformSigningKey,
) -> None:
    completed = await completed_envelope(db, storage, owner)
    grace = await db.scalar(
        select(EnvelopeRecipient).where(
            EnvelopeRecipient.envelope_id == completed.envelope.id,
            EnvelopeRecipient.email == "grace@example.com",
        )
    )
    assert grace is not None
    grace.status = "viewed"
    grace.signed_at = None
    await db.flush()

    with pytest.raises(NotReadyToSeal):
        await seal_envelope(db, storage, settings, owner.firm.id, completed.envelope.id)
    versions = await db.scalar(
        select(func.count())
        .select_from(DocumentVersion)
        .where(DocumentVersion.document_id == completed.pinned.document_id)
    )
    assert versions == 1


async def test_the_standalone_certificate_prints_the_sealed_files_hash(
    db: AsyncSession,
    storage: FilesystemStorage,
    settings: Settings,
    owner: Actor,
    platform_key: PlatformSigningKey,
) -> None:
    completed, [envelope_document] = await _seal(db, storage, settings, owner)

    pdf = await render_certificate(db, owner.firm.id, completed.envelope.id)

    text = "".join(
        "".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages
    )
    assert envelope_document.signed_sha256 is not None
    assert envelope_document.signed_sha256 in text
    assert completed.pinned.sha256 in text


async def test_a_document_in_review_gets_its_sealed_copy_as_a_new_document(
    db: AsyncSession,
    storage: FilesystemStorage,
    settings: Settings,
    owner: Actor,
    platform_key: PlatformSigningKey,
) -> None:
    completed = await completed_envelope(db, storage, owner)
    original = await db.get_one(Document, completed.pinned.document_id)
    original.status = DocumentStatus.in_review.value
    await db.flush()

    [envelope_document] = await seal_envelope(
        db, storage, settings, owner.firm.id, completed.envelope.id
    )

    assert envelope_document.signed_version_id is not None
    version = await db.get_one(DocumentVersion, envelope_document.signed_version_id)
    assert version.document_id != original.id
    copy = await db.get_one(Document, version.document_id)
    assert copy.title == "Engagement letter (signed)"
    assert original.current_version_id == completed.pinned.id
    assert original.status == DocumentStatus.in_review
