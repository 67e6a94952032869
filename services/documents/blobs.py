"""Document bytes: streamed into storage, content-addressed, checked and deduplicated, and
handed out through short-lived download links.

An upload streams to a temporary key (``firms/<firm>/uploads/<random>``) while it is hashed
(SHA-256), counted against the firm's upload limit (413 ``upload-too-large`` the moment it
passes it) and sniffed from its first bytes (415 as soon as the head shows a type the firm
does not accept, long before the rest arrives). Complete, it becomes the firm's blob of that
hash: an existing one (same bytes uploaded before: nothing more is stored, no quota used) or
a new one moved to ``firms/<firm>/blobs/<sha256>`` if the firm's quota (bytes of its
distinct blobs) has room (413 ``quota-exceeded`` otherwise). Whatever refuses or fails, the
temporary object is removed.

Storage is not transactional, so the few races are closed by a per-firm advisory lock that
the quota check and ``delete_unreferenced`` take: a concurrent upload cannot dedupe onto a
blob being deleted, nor two uploads pass the quota together. A transaction that rolls back
after an upload leaves its blob object without a row: harmless (the next upload of those
bytes reuses it) and never served, since links are only issued for rows.
"""

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.config import Settings
from core.errors import PayloadTooLarge
from core.signed_urls import FileGrant, FileLinks
from models import DocumentBlob, DocumentVersion, Firm
from providers.storage import Storage
from services.documents import sniffing
from services.documents.repository import BLOBS, VERSIONS


class UploadTooLarge(PayloadTooLarge):
    title = "File too large"
    slug = "upload-too-large"


class QuotaExceeded(PayloadTooLarge):
    title = "Document storage quota exceeded"
    slug = "quota-exceeded"


@dataclass(frozen=True)
class SignedLink:
    url: str
    expires_at: datetime


def blob_key(firm_id: uuid.UUID, sha256: str) -> str:
    return f"firms/{firm_id}/blobs/{sha256}"


def _mebibytes(size: int) -> str:
    return f"{size / 1024**2:,.1f} MiB"


class _Meter:
    """The upload's stream as it passes to storage: hashed, counted against the limit, and
    its head sniffed and checked as soon as there is enough of it."""

    def __init__(self, limit: int, allowed: list[str]) -> None:
        self.limit = limit
        self.allowed = allowed
        self.sha256 = hashlib.sha256()
        self.size = 0
        self.head = bytearray()
        self.content_type: str | None = None

    def _sniff(self) -> None:
        self.content_type = sniffing.detect(bytes(self.head))
        sniffing.check(self.content_type, self.allowed)
        self.head = bytearray()

    async def stream(self, chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
        async for chunk in chunks:
            self.size += len(chunk)
            if self.size > self.limit:
                raise UploadTooLarge(
                    f"Files may be at most {_mebibytes(self.limit)} here; this one is larger"
                )
            self.sha256.update(chunk)
            if self.content_type is None:
                self.head += chunk[: sniffing.HEAD_BYTES - len(self.head)]
                if len(self.head) >= sniffing.HEAD_BYTES:
                    self._sniff()
            yield chunk
        if self.content_type is None:
            self._sniff()


async def _lock_firm_blobs(session: AsyncSession, firm_id: uuid.UUID) -> None:
    key = f"document-blobs:{firm_id}"
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(key, 0))))


async def bytes_used(session: AsyncSession, firm_id: uuid.UUID) -> int:
    """What the firm's documents take against its quota: the bytes of its distinct blobs."""
    used = await session.scalar(
        select(func.coalesce(func.sum(DocumentBlob.size), 0)).where(BLOBS.owned_by(firm_id))
    )
    return int(used or 0)


async def store_upload(
    session: AsyncSession,
    storage: Storage,
    firm: Firm,
    chunks: AsyncIterable[bytes],
    *,
    declared_name: str,
) -> DocumentBlob:
    """The firm's blob of the streamed bytes (an existing one when they were stored before).
    ``declared_name`` is only for messages: the type comes from the content."""
    temp_key = f"firms/{firm.id}/uploads/{uuid.uuid4().hex}"
    meter = _Meter(firm.upload_limit_bytes, list(firm.allowed_upload_types))
    try:
        await storage.write(temp_key, meter.stream(chunks))
        # Set by the stream once its head was sniffed, at the latest when it ended.
        assert meter.content_type is not None
        return await _keep(
            session, storage, firm, meter, temp_key, declared_name, meter.content_type
        )
    finally:
        # Moved, deduplicated or refused: the temporary object is never kept. Shielded, so
        # a client that disconnects mid-upload (cancellation) does not leave it behind.
        await asyncio.shield(storage.delete(temp_key))


async def _keep(
    session: AsyncSession,
    storage: Storage,
    firm: Firm,
    meter: _Meter,
    temp_key: str,
    declared_name: str,
    content_type: str,
) -> DocumentBlob:
    sha256 = meter.sha256.hexdigest()
    await _lock_firm_blobs(session, firm.id)
    existing = await session.scalar(BLOBS.select(firm.id).where(DocumentBlob.sha256 == sha256))
    if existing is not None:
        # Kept when the bytes are there; put back when a purge whose transaction then
        # rolled back had deleted them (delete_unreferenced).
        await storage.move(temp_key, existing.storage_key)
        return existing
    used = await bytes_used(session, firm.id)
    if used + meter.size > firm.documents_quota_bytes:
        raise QuotaExceeded(
            f"{declared_name!r} ({_mebibytes(meter.size)}) does not fit: the firm's documents "
            f"take {_mebibytes(used)} of its {_mebibytes(firm.documents_quota_bytes)} quota"
        )
    key = blob_key(firm.id, sha256)
    await storage.move(temp_key, key)
    blob = DocumentBlob(
        firm_id=firm.id,
        sha256=sha256,
        size=meter.size,
        content_type=content_type,
        storage_key=key,
    )
    session.add(blob)
    await session.flush()
    return blob


async def delete_unreferenced(
    session: AsyncSession, storage: Storage, firm_id: uuid.UUID, blob_ids: list[uuid.UUID]
) -> list[str]:
    """Delete those of the firm's blobs ``blob_ids`` that no version references (rows and
    bytes); the SHA-256s deleted. Blobs still referenced, or not the firm's, are kept."""
    if not blob_ids:
        return []
    await _lock_firm_blobs(session, firm_id)
    referenced = exists().where(
        VERSIONS.owned_by(firm_id), DocumentVersion.blob_id == DocumentBlob.id
    )
    doomed = (
        await session.execute(
            select(DocumentBlob.id, DocumentBlob.sha256, DocumentBlob.storage_key).where(
                BLOBS.owned_by(firm_id), DocumentBlob.id.in_(blob_ids), ~referenced
            )
        )
    ).all()
    if not doomed:
        return []
    await session.execute(
        delete(DocumentBlob).where(
            BLOBS.owned_by(firm_id), DocumentBlob.id.in_([row.id for row in doomed])
        )
    )
    await session.flush()
    # Under the firm's blob lock, so no upload dedupes onto these rows meanwhile. A failure
    # here leaves bytes without a row (harmless); a transaction that rolls back after it
    # leaves unreferenced rows without their bytes, which nothing reads and which the next
    # upload of the same bytes fills again (_keep moves onto the existing key).
    for row in doomed:
        await storage.delete(row.storage_key)
    return [row.sha256 for row in doomed]


async def download_link(
    storage: Storage,
    settings: Settings,
    blob: DocumentBlob,
    *,
    file_name: str,
    firm_id: uuid.UUID,
) -> SignedLink:
    """A link that downloads ``blob`` as ``file_name`` for ``settings.file_link_seconds``:
    the provider's own presigned URL where it has one, else firmflow's signed
    ``/v1/files/<token>``. The caller audits the issue."""
    if blob.firm_id != firm_id:
        raise ValueError("a download link for another firm's blob")
    expires_in = timedelta(seconds=settings.file_link_seconds)
    expires_at = (datetime.now(UTC) + expires_in).replace(microsecond=0)
    url = await storage.presigned_url(
        blob.storage_key, file_name=file_name, content_type=blob.content_type, expires_in=expires_in
    )
    if url is None:
        grant = FileGrant(firm_id, blob.storage_key, file_name, blob.content_type, expires_at)
        token = FileLinks.from_settings(settings).issue(grant)
        url = f"{settings.public_url.rstrip('/')}/v1/files/{token}"
    return SignedLink(url=url, expires_at=expires_at)
