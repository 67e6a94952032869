"""Documents ready for review, as rows (a blob, a document and its first version), for the
review tests: they need no bytes and no upload."""

import hashlib
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.db import scope_to_firm
from models import Document, DocumentBlob, DocumentVersion
from tests.factories import Actor


async def draft_document(session: AsyncSession, owner: Actor, **fields: Any) -> Document:
    """A draft of ``owner``'s firm with version 1, owned by ``owner``; committed."""
    return await draft_of(session, owner.firm.id, owner.user.id, **fields)


async def draft_of(
    session: AsyncSession, firm_id: uuid.UUID, owner_id: uuid.UUID, **fields: Any
) -> Document:
    """A draft of the firm with version 1, owned by ``owner_id``; committed."""
    await scope_to_firm(session, firm_id)
    data = uuid.uuid4().bytes
    sha256 = hashlib.sha256(data).hexdigest()
    blob = DocumentBlob(
        firm_id=firm_id,
        sha256=sha256,
        size=len(data),
        content_type="application/pdf",
        storage_key=f"firms/{firm_id}/blobs/{sha256}",
    )
    document = Document(
        firm_id=firm_id,
        title=fields.pop("title", "Engagement letter"),
        owner_id=owner_id,
        created_by=owner_id,
        **fields,
    )
    session.add_all([blob, document])
    await session.flush()
    version = DocumentVersion(
        firm_id=firm_id,
        document_id=document.id,
        number=1,
        blob_id=blob.id,
        file_name="letter.pdf",
        sha256=sha256,
        size=len(data),
        content_type="application/pdf",
        uploaded_by=owner_id,
    )
    session.add(version)
    await session.flush()
    document.current_version_id = version.id
    await session.commit()
    return document
