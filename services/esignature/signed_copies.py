"""Keeping a signed copy: the one way a signed PDF, sealed by firmflow or fetched from an
outside provider, becomes part of the library.

The copy is the document's next version; a document in the bin or in review takes no
version, so the copy becomes a new document beside it ("<title> (signed)"). The envelope
document records it (``signed_version_id``, ``signed_sha256``), the trail gets a
``sealed`` event, and the firm's e-signature policy may put the document under a legal
hold. Callers lock the envelope and skip documents already kept, so a retried activity
keeps nothing twice."""

import logging
from collections.abc import AsyncIterator
from pathlib import PurePosixPath
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import Conflict
from core.principal import Principal
from models import DocumentVersion, Envelope, EnvelopeDocument, EnvelopeEventKind, Firm
from providers.storage import Storage
from services.documents import blobs, documents, holds
from services.documents.repository import DOCUMENTS, VERSIONS
from services.esignature import trail

log = logging.getLogger(__name__)


async def _one_chunk(data: bytes) -> AsyncIterator[bytes]:
    yield data


def signed_name(file_name: str) -> str:
    stem = PurePosixPath(file_name).stem or "document"
    return f"{stem}-signed.pdf"


async def _store(
    session: AsyncSession,
    storage: Storage,
    firm: Firm,
    row: EnvelopeDocument,
    data: bytes,
    note: str,
) -> DocumentVersion:
    principal = Principal.system(firm.id)
    pinned = await VERSIONS.get_or_404(session, firm.id, row.version_id)
    name = signed_name(pinned.file_name)
    blob = await blobs.store_upload(session, storage, firm, _one_chunk(data), declared_name=name)
    document = await DOCUMENTS.get_or_404(session, firm.id, row.document_id)
    try:
        async with session.begin_nested():
            return await documents.add_version(
                session, principal, document, blob, file_name=name, note=note
            )
    except Conflict:
        log.info(
            "signed copy stored as a new document",
            extra={"document_id": str(document.id), "envelope_id": str(row.envelope_id)},
        )
    fields = documents.DocumentFields(
        title=f"{document.title} (signed)"[:300],
        client_id=document.client_id,
        folder_id=document.folder_id,
        document_type=document.document_type,
        tags=list(document.tags),
    )
    created = await documents.create_document(
        session, principal, fields=fields, blob=blob, file_name=name, note=note
    )
    assert created.current_version_id is not None
    return await VERSIONS.get_or_404(session, firm.id, created.current_version_id)


async def keep_signed_copy(
    session: AsyncSession,
    storage: Storage,
    firm: Firm,
    envelope: Envelope,
    row: EnvelopeDocument,
    data: bytes,
    *,
    note: str,
    source: str,
    detail: dict[str, Any],
) -> DocumentVersion:
    """Store ``data`` as ``row``'s signed copy, record it on the row and in the trail
    (``detail`` added to the ids and hash), and hold it when the firm's policy says so."""
    version = await _store(session, storage, firm, row, data, note)
    row.signed_version_id = version.id
    row.signed_sha256 = version.sha256
    await session.flush()
    await trail.record_event(
        session,
        firm.id,
        envelope.id,
        EnvelopeEventKind.sealed,
        source=source,
        detail={
            "envelope_document_id": str(row.id),
            "document_id": str(version.document_id),
            "version_id": str(version.id),
            "signed_sha256": version.sha256,
            **detail,
        },
    )
    if firm.esignature_legal_hold:
        reason = f"Signed through e-signature envelope {envelope.id} ({envelope.title})"
        await holds.place_hold(
            session,
            Principal.system(firm.id),
            fields=holds.HoldFields(document_id=version.document_id, reason=reason[:2000]),
        )
    return version
