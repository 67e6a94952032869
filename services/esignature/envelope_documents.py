"""An envelope's documents: each library document's current version pinned when it joins
a draft (its pages measured once), taken out again, a page rendered for the builder, and
download links to the pinned version and to the sealed one."""

import asyncio
import uuid
from dataclasses import dataclass, field

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.config import Settings
from core.errors import AppError, Conflict, NotFound
from core.principal import Principal
from models import DocumentVersion, Envelope, EnvelopeDocument
from providers.storage import Storage
from services import audit
from services.documents import blobs
from services.documents.repository import BLOBS, DOCUMENTS, VERSIONS
from services.esignature import pages, state
from services.esignature.repository import ENVELOPE_DOCUMENTS
from services.repository import Firm

PDF = "application/pdf"
MAX_DOCUMENTS = 20


def _unusable(pointer: str, detail: str) -> AppError:
    return state.invalid(pointer, detail, "A document cannot be sent for signature")


@dataclass(frozen=True)
class UsablePdf:
    title: str
    version: DocumentVersion
    page_count: int
    page_sizes: list[list[float]]
    data: bytes = field(repr=False)


async def usable_pdf(
    session: AsyncSession,
    storage: Storage,
    principal: Principal,
    document_id: uuid.UUID,
    *,
    pointer: str,
) -> UsablePdf:
    """The library document's current version, measured. A document of another firm, in
    the bin, without a version, not a PDF or unreadable is a 422 at ``pointer``."""
    document = await DOCUMENTS.get(session, principal, document_id)
    if document is None or document.deleted_at is not None:
        raise _unusable(pointer, "no such document in your firm's library")
    if document.current_version_id is None:
        raise _unusable(pointer, "the document has no version yet")
    version = await VERSIONS.get_or_404(session, principal, document.current_version_id)
    if version.content_type != PDF:
        raise _unusable(pointer, f"the current version is {version.content_type}, not a PDF")
    blob = await BLOBS.get_or_404(session, principal, version.blob_id)
    data = b"".join([chunk async for chunk in storage.read(blob.storage_key)])
    try:
        page_count, page_sizes = pages.pdf_layout(data)
    except pages.UnreadablePdf as exc:
        raise _unusable(pointer, exc.detail) from exc
    return UsablePdf(
        title=document.title,
        version=version,
        page_count=page_count,
        page_sizes=page_sizes,
        data=data,
    )


async def pin_document(
    session: AsyncSession,
    storage: Storage,
    principal: Principal,
    envelope: Envelope,
    document_id: uuid.UUID,
    *,
    position: int,
    pointer: str,
) -> EnvelopeDocument:
    """Add the library document to the envelope, its current version pinned and measured
    (a 422 at ``pointer`` unless :func:`usable_pdf`)."""
    usable = await usable_pdf(session, storage, principal, document_id, pointer=pointer)
    pinned = EnvelopeDocument(
        firm_id=principal.firm_id,
        envelope_id=envelope.id,
        document_id=document_id,
        version_id=usable.version.id,
        position=position,
        original_sha256=usable.version.sha256,
        page_count=usable.page_count,
        page_sizes=usable.page_sizes,
    )
    session.add(pinned)
    await session.flush()
    return pinned


async def add_document(
    session: AsyncSession,
    storage: Storage,
    principal: Principal,
    envelope_id: uuid.UUID,
    document_id: uuid.UUID,
) -> Envelope:
    envelope = await state.locked_draft(session, principal, envelope_id, "changed")
    taken = await session.execute(
        select(func.count(), func.coalesce(func.max(EnvelopeDocument.position), -1)).where(
            ENVELOPE_DOCUMENTS.owned_by(principal), EnvelopeDocument.envelope_id == envelope.id
        )
    )
    count, last = taken.one()
    if count >= MAX_DOCUMENTS:
        raise state.invalid(
            "/document_id", f"at most {MAX_DOCUMENTS} documents", "The envelope is full"
        )
    already = await ENVELOPE_DOCUMENTS.find(
        session,
        principal,
        EnvelopeDocument.envelope_id == envelope.id,
        EnvelopeDocument.document_id == document_id,
    )
    if already is not None:
        raise state.invalid(
            "/document_id", "already in this envelope", "The document is in the envelope"
        )
    pinned = await pin_document(
        session,
        storage,
        principal,
        envelope,
        document_id,
        position=last + 1,
        pointer="/document_id",
    )
    await state.touch(session, envelope)
    await audit.record(
        session,
        principal,
        action="envelope.document_added",
        record_type="envelope",
        record_id=envelope.id,
        after={"document_id": str(document_id), "version_id": str(pinned.version_id)},
    )
    return envelope


async def remove_document(
    session: AsyncSession,
    principal: Principal,
    envelope_id: uuid.UUID,
    envelope_document_id: uuid.UUID,
) -> Envelope:
    """Take a document out of a draft, with the fields placed on it."""
    envelope = await state.locked_draft(session, principal, envelope_id, "changed")
    pinned = await ENVELOPE_DOCUMENTS.get_or_404(
        session, principal, envelope_document_id, EnvelopeDocument.envelope_id == envelope.id
    )
    await session.execute(
        delete(EnvelopeDocument).where(
            ENVELOPE_DOCUMENTS.owned_by(principal), EnvelopeDocument.id == pinned.id
        )
    )
    await state.touch(session, envelope)
    await audit.record(
        session,
        principal,
        action="envelope.document_removed",
        record_type="envelope",
        record_id=envelope.id,
        before={"document_id": str(pinned.document_id)},
    )
    return envelope


async def envelope_document(
    session: AsyncSession, firm: Firm, envelope_id: uuid.UUID, envelope_document_id: uuid.UUID
) -> EnvelopeDocument:
    envelope = await state.get_envelope(session, firm, envelope_id)
    return await ENVELOPE_DOCUMENTS.get_or_404(
        session, firm, envelope_document_id, EnvelopeDocument.envelope_id == envelope.id
    )


async def page_png(
    session: AsyncSession,
    storage: Storage,
    firm: Firm,
    envelope_id: uuid.UUID,
    envelope_document_id: uuid.UUID,
    page: int,
    *,
    width_px: int,
) -> bytes:
    """A page of the pinned version as PNG, ``width_px`` wide (404 past its last page)."""
    pinned = await envelope_document(session, firm, envelope_id, envelope_document_id)
    if page > pinned.page_count:
        raise NotFound(f"The document has {pinned.page_count} pages; there is no page {page}")
    data = await pages.pinned_bytes(session, storage, firm, pinned)
    return await asyncio.to_thread(pages.render_page_png, data, page, width_px=width_px)


async def download_link(
    session: AsyncSession,
    principal: Principal,
    storage: Storage,
    settings: Settings,
    envelope_id: uuid.UUID,
    envelope_document_id: uuid.UUID,
    *,
    signed: bool,
) -> blobs.SignedLink:
    """A short-lived link to the pinned version, or to the sealed one (409 until the
    envelope's documents are sealed), recorded as a download."""
    pinned = await envelope_document(session, principal, envelope_id, envelope_document_id)
    version_id = pinned.signed_version_id if signed else pinned.version_id
    if version_id is None:
        raise Conflict(
            "This document is not signed yet: the signed copy exists once the envelope completed",
            errors=[{"pointer": "/variant", "detail": "not signed yet"}],
        )
    version = await VERSIONS.get_or_404(session, principal, version_id)
    blob = await BLOBS.get_or_404(session, principal, version.blob_id)
    link = await blobs.download_link(
        storage, settings, blob, file_name=version.file_name, firm_id=principal.firm_id
    )
    await audit.record(
        session,
        principal,
        action="envelope.document_downloaded",
        record_type="envelope",
        record_id=envelope_id,
        after={
            "document_id": str(pinned.document_id),
            "version_id": str(version.id),
            "variant": "signed" if signed else "original",
        },
    )
    return link
