"""Documents test data without the storage: a blob row named as if its bytes were stored,
and documents and versions made through the documents service over such blobs. For tests
of one part of documents (tenancy, lists, review, retention) that need no bytes; the upload
tests go through the API and the storage."""

import hashlib
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.principal import Principal
from models import Document, DocumentBlob, DocumentVersion
from services.documents import documents
from services.documents.blobs import blob_key


async def blob_row(
    session: AsyncSession,
    firm_id: uuid.UUID,
    *,
    content: bytes | None = None,
    content_type: str = "application/pdf",
) -> DocumentBlob:
    """The firm's blob of ``content`` (random bytes by default) as a row only."""
    data = content if content is not None else uuid.uuid4().bytes
    sha256 = hashlib.sha256(data).hexdigest()
    blob = DocumentBlob(
        firm_id=firm_id,
        sha256=sha256,
        size=len(data),
        content_type=content_type,
        storage_key=blob_key(firm_id, sha256),
    )
    session.add(blob)
    await session.flush()
    return blob


async def document_with_blob(
    session: AsyncSession,
    principal: Principal,
    *,
    file_name: str = "return.pdf",
    note: str | None = None,
    **fields: Any,
) -> Document:
    """A document of ``principal``'s firm, version 1 a new blob; ``fields`` as the API's."""
    blob = await blob_row(session, principal.firm_id)
    return await documents.create_document(
        session,
        principal,
        fields=documents.DocumentFields.model_validate(fields),
        blob=blob,
        file_name=file_name,
        note=note,
    )


async def version_with_blob(
    session: AsyncSession, principal: Principal, document: Document, *, file_name: str = "v.pdf"
) -> DocumentVersion:
    blob = await blob_row(session, principal.firm_id)
    return await documents.add_version(
        session, principal, document, blob, file_name=file_name, note=None
    )
