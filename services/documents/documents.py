"""Documents and their versions: creation with a first upload, new versions, restoring an
older version as the newest, changes to the details, the bin (soft delete, restore within
``BIN_DAYS``), the filtered list, and the audited reads (a view, a download link).

A version is immutable: restoring an old one adds a new version pointing at the same blob.
The bytes themselves are ``services.documents.blobs``'s; this module only names blobs that
upload already stored. Every version made is queued for text extraction and indexed for
search (``services.documents.text``), and re-indexed when the title or tags change."""

import uuid
from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from sqlalchemy import Select, and_, case, func, null, select
from sqlalchemy import text as sql_text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from core.config import Settings
from core.errors import Conflict, NotFound, Unprocessable
from core.not_null import NeverNull
from core.pagination import Page, PageParams, keyset, read_page
from core.principal import Principal
from core.roles import Role
from models import (
    Document,
    DocumentBlob,
    DocumentStatus,
    DocumentVersion,
    Firm,
)
from providers.storage import Storage
from pure import event_catalogue
from services import audit
from services.clients import CLIENTS, Tags
from services.documents import blobs, holds, reviews, text
from services.documents.repository import BLOBS, DOCUMENTS, FOLDERS, VERSIONS
from services.documents.reviews import MAX_REVIEWERS
from services.identity_repository import USERS
from services.outbox import writer as outbox
from services.patches import apply_patch

T = TypeVar("T")

# How long a deleted document stays in the bin, restorable; the retention sweep purges it
# after that.
BIN_DAYS = 30
MAX_NOTE = 2000
MAX_FILE_NAME = 255
DEFAULT_TYPE = "general"

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
# A firm's own code; retention policies key on it.
DocumentType = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_NOTE)]


class DocumentFields(BaseModel):
    """A new document's details; ``title`` defaults to the uploaded file's name."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    client_id: uuid.UUID | None = None
    folder_id: uuid.UUID | None = None
    document_type: DocumentType = DEFAULT_TYPE
    tags: Tags = []


class DocumentPatch(BaseModel):
    """Only the fields present change; ``client_id``, ``folder_id`` and ``owner_id`` may be
    set to null to clear them."""

    model_config = ConfigDict(extra="forbid")

    title: Annotated[Title | None, NeverNull] = None
    document_type: Annotated[DocumentType | None, NeverNull] = None
    tags: Annotated[Tags | None, NeverNull] = None
    client_id: uuid.UUID | None = None
    folder_id: uuid.UUID | None = None
    owner_id: uuid.UUID | None = None
    # Who reviews the document unless a submission names its own reviewers.
    reviewer_roles: Annotated[list[Role] | None, NeverNull] = Field(
        default=None, max_length=len(Role)
    )
    reviewer_user_ids: Annotated[list[uuid.UUID] | None, NeverNull] = Field(
        default=None, max_length=MAX_REVIEWERS
    )
    review_quorum: Annotated[int | None, NeverNull] = Field(default=None, ge=1, le=MAX_REVIEWERS)

    @field_validator(
        "title",
        "document_type",
        "tags",
        "reviewer_roles",
        "reviewer_user_ids",
        "review_quorum",
        mode="before",
    )
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may not be null")
        return value


def summarize(document: Document) -> dict[str, Any]:
    """The audit summary of a document: its details as JSON-ready values."""
    return {
        "title": document.title,
        "document_type": document.document_type,
        "tags": list(document.tags),
        "client_id": str(document.client_id) if document.client_id else None,
        "folder_id": str(document.folder_id) if document.folder_id else None,
        "owner_id": str(document.owner_id) if document.owner_id else None,
        "reviewer_roles": [str(role) for role in document.reviewer_roles],
        "reviewer_user_ids": [str(user_id) for user_id in document.reviewer_user_ids],
        "review_quorum": document.review_quorum,
        "status": document.status,
        "current_version_id": (
            str(document.current_version_id) if document.current_version_id else None
        ),
    }


def summarize_version(version: DocumentVersion) -> dict[str, Any]:
    return {
        "version_id": str(version.id),
        "number": version.number,
        "file_name": version.file_name,
        "sha256": version.sha256,
        "size": version.size,
        "content_type": version.content_type,
        "note": version.note,
        "restored_from_id": str(version.restored_from_id) if version.restored_from_id else None,
    }


def _invalid(pointer: str, detail: str, title: str) -> Unprocessable:
    return Unprocessable(title, errors=[{"pointer": pointer, "detail": detail}])


async def _check_folder(
    session: AsyncSession,
    principal: Principal,
    folder_id: uuid.UUID,
    client_id: uuid.UUID | None,
) -> None:
    """A document sits in a folder of its own client, or of no client if it has none."""
    folder = await FOLDERS.get_or_404(session, principal, folder_id, pointer="/folder_id")
    if folder.client_id != client_id:
        raise _invalid(
            "/folder_id",
            "folder belongs to another client" if folder.client_id else "folder has no client",
            "A document goes into a folder of its own client (or, without a client, into a "
            "folder of none)",
        )


async def _check_owner(session: AsyncSession, principal: Principal, owner_id: uuid.UUID) -> None:
    user = await USERS.get_or_404(session, principal, owner_id, pointer="/owner_id")
    if user.role == Role.client or not user.is_active:
        raise _invalid(
            "/owner_id",
            "user has the client role" if user.role == Role.client else "user is deactivated",
            "A document's owner is an active member of the firm's own staff",
        )


async def check_fields(session: AsyncSession, principal: Principal, fields: DocumentFields) -> None:
    """The ids ``fields`` name belong to the firm and fit together: a 404 or 422 before
    anything is stored (the upload route calls it before streaming the file)."""
    if fields.client_id is not None:
        await CLIENTS.require(session, principal, fields.client_id, pointer="/client_id")
    if fields.folder_id is not None:
        await _check_folder(session, principal, fields.folder_id, fields.client_id)


def _event(
    name: str, dedupe_key: str, document: Document, principal: Principal, **extra: Any
) -> outbox.NewMessage:
    return outbox.event(
        name,
        dedupe_key,
        document_id=str(document.id),
        title=document.title,
        document_type=document.document_type,
        tags=list(document.tags),
        client_id=str(document.client_id) if document.client_id else None,
        **extra,
        source=event_catalogue.run_source(principal.request_id),
    )


async def _new_version(
    session: AsyncSession,
    principal: Principal,
    document: Document,
    blob: DocumentBlob,
    *,
    file_name: str,
    note: str | None,
    restored_from: DocumentVersion | None = None,
) -> DocumentVersion:
    """The next version of ``document`` (locked by the caller), made current; the document
    goes back to draft, since no review has seen these bytes as this version."""
    number = await session.scalar(
        select(func.coalesce(func.max(DocumentVersion.number), 0)).where(
            VERSIONS.owned_by(principal), DocumentVersion.document_id == document.id
        )
    )
    version = DocumentVersion(
        firm_id=principal.firm_id,
        document_id=document.id,
        number=(number or 0) + 1,
        blob_id=blob.id,
        file_name=file_name[:MAX_FILE_NAME],
        sha256=blob.sha256,
        size=blob.size,
        content_type=blob.content_type,
        uploaded_by=principal.user_id,
        note=note or None,
        restored_from_id=restored_from.id if restored_from is not None else None,
    )
    session.add(version)
    await session.flush()
    await session.refresh(version, ["created_at"])
    document.current_version_id = version.id
    document.status = DocumentStatus.draft.value
    await session.flush()
    await session.refresh(document, ["updated_at"])
    await text.index_version(session, version)
    await text.queue_extraction(session, principal.firm_id, version.id)
    return version


async def upload(
    session: AsyncSession,
    principal: Principal,
    storage: Storage,
    chunks: AsyncIterable[bytes],
    *,
    declared_name: str,
) -> DocumentBlob:
    """Store streamed bytes as the firm's blob, under its upload limit, quota and allowed
    types (``services.documents.blobs``), for a new document or version to name."""
    firm = await session.scalar(select(Firm).where(Firm.id == principal.firm_id))
    if firm is None:
        raise NotFound("Your firm no longer exists")
    return await blobs.store_upload(session, storage, firm, chunks, declared_name=declared_name)


async def create_document(
    session: AsyncSession,
    principal: Principal,
    *,
    fields: DocumentFields,
    blob: DocumentBlob,
    file_name: str,
    note: str | None,
) -> Document:
    """A document with ``blob`` (already stored) as its version 1. ``principal`` may be
    ``Principal.system(firm_id)`` (an invoice's PDF), in which case nobody created or
    uploaded it and it has no owner."""
    await check_fields(session, principal, fields)
    document = Document(
        firm_id=principal.firm_id,
        title=fields.title or file_name[:300] or "Untitled",
        document_type=fields.document_type,
        tags=list(fields.tags),
        client_id=fields.client_id,
        folder_id=fields.folder_id,
        status=DocumentStatus.draft.value,
        owner_id=principal.user_id,
        created_by=principal.user_id,
    )
    session.add(document)
    await session.flush()
    version = await _new_version(session, principal, document, blob, file_name=file_name, note=note)
    await audit.record(
        session,
        principal,
        action="document.created",
        record_type="document",
        record_id=document.id,
        after={**summarize(document), **summarize_version(version)},
    )
    await outbox.enqueue_message(
        session,
        principal.firm_id,
        _event(
            "document.created",
            f"document.created:{document.id}",
            document,
            principal,
            version_id=str(version.id),
        ),
    )
    return document


def _writable(document: Document) -> Document:
    if document.deleted_at is not None:
        raise Conflict("This document is in the bin; restore it before changing it")
    return document


def _not_in_review(document: Document) -> None:
    if document.status == DocumentStatus.in_review:
        raise Conflict(
            "This document's current version is in review; withdraw the review before "
            "adding a version"
        )


def check_writable(document: Document) -> None:
    """A 409 unless a new version may be added (the upload route asks before storing)."""
    _not_in_review(_writable(document))


async def _version_added(
    session: AsyncSession,
    principal: Principal,
    document: Document,
    version: DocumentVersion,
    action: str,
) -> None:
    await audit.record(
        session,
        principal,
        action=action,
        record_type="document",
        record_id=document.id,
        after=summarize_version(version),
    )
    await outbox.enqueue_message(
        session,
        principal.firm_id,
        _event(
            "document.version_added",
            f"document.version_added:{version.id}",
            document,
            principal,
            version_id=str(version.id),
            number=version.number,
        ),
    )


async def add_version(
    session: AsyncSession,
    principal: Principal,
    document: Document,
    blob: DocumentBlob,
    *,
    file_name: str,
    note: str | None,
) -> DocumentVersion:
    """``blob`` (already stored) as the newest version of ``document``. The document is
    locked (and re-read) here, so two uploads get consecutive numbers."""
    await DOCUMENTS.get_or_404(session, principal, document.id, lock=True)
    _writable(document)
    _not_in_review(document)
    version = await _new_version(session, principal, document, blob, file_name=file_name, note=note)
    await _version_added(session, principal, document, version, "document.version_added")
    return version


async def get_document(
    session: AsyncSession, principal: Principal, document_id: uuid.UUID, *, lock: bool = False
) -> Document:
    """The document, unrecorded (for the services that act on it)."""
    return await DOCUMENTS.get_or_404(session, principal, document_id, lock=lock)


async def get_version(
    session: AsyncSession,
    principal: Principal,
    document_id: uuid.UUID,
    version_id: uuid.UUID,
) -> DocumentVersion:
    return await VERSIONS.get_or_404(
        session, principal, version_id, DocumentVersion.document_id == document_id
    )


async def restore_version(
    session: AsyncSession,
    principal: Principal,
    document_id: uuid.UUID,
    version_id: uuid.UUID,
    *,
    note: str | None = None,
) -> DocumentVersion:
    """A new version with the bytes and file name of an older one."""
    document = _writable(await get_document(session, principal, document_id, lock=True))
    _not_in_review(document)
    old = await get_version(session, principal, document_id, version_id)
    blob = await BLOBS.get_or_404(session, principal, old.blob_id)
    version = await _new_version(
        session,
        principal,
        document,
        blob,
        file_name=old.file_name,
        note=note or f"Restored from version {old.number}",
        restored_from=old,
    )
    await _version_added(session, principal, document, version, "document.version_restored")
    return version


async def update_document(
    session: AsyncSession, principal: Principal, document_id: uuid.UUID, *, patch: DocumentPatch
) -> Document:
    """Change the details; a new title or new tags re-index the current version."""
    document = _writable(await get_document(session, principal, document_id, lock=True))
    client_id = patch.client_id if "client_id" in patch.model_fields_set else document.client_id
    folder_id = patch.folder_id if "folder_id" in patch.model_fields_set else document.folder_id
    if client_id is not None and client_id != document.client_id:
        await CLIENTS.require(session, principal, client_id, pointer="/client_id")
    if folder_id is not None and (
        folder_id != document.folder_id or client_id != document.client_id
    ):
        await _check_folder(session, principal, folder_id, client_id)
    if patch.owner_id is not None and patch.owner_id != document.owner_id:
        await _check_owner(session, principal, patch.owner_id)
    if {"reviewer_roles", "reviewer_user_ids", "review_quorum"} & patch.model_fields_set:
        roles = (
            patch.reviewer_roles
            if patch.reviewer_roles is not None
            else [Role(role) for role in document.reviewer_roles]
        )
        user_ids = (
            patch.reviewer_user_ids
            if patch.reviewer_user_ids is not None
            else list(document.reviewer_user_ids)
        )
        if roles or user_ids:
            quorum = patch.review_quorum or document.review_quorum
            await reviews.check_reviewers(
                session,
                principal,
                roles,
                user_ids,
                quorum,
                submitter=None,
                quorum_pointer="/review_quorum",
            )
    patched = await apply_patch(
        session, principal, document, patch, record_type="document", summarize=summarize
    )
    if {"title", "tags"} & set(patched.changes) and document.current_version_id is not None:
        current = await VERSIONS.get_or_404(session, principal, document.current_version_id)
        await text.index_version(session, current)
    return document


async def delete_document(
    session: AsyncSession, principal: Principal, document_id: uuid.UUID
) -> Document:
    """Move the document to the bin; refused under a legal hold. Deleting a document
    already in the bin changes nothing."""
    document = await get_document(session, principal, document_id, lock=True)
    if document.deleted_at is not None:
        return document
    if await holds.is_held(session, principal.firm_id, document):
        raise Conflict("This document is under a legal hold; it cannot be deleted until released")
    document.deleted_at = datetime.now(UTC)
    document.deleted_by = principal.user_id
    await session.flush()
    await session.refresh(document, ["updated_at"])
    await audit.record(
        session,
        principal,
        action="document.deleted",
        record_type="document",
        record_id=document.id,
        after={"deleted_at": document.deleted_at.isoformat()},
    )
    return document


async def restore_document(
    session: AsyncSession, principal: Principal, document_id: uuid.UUID
) -> Document:
    """Take the document out of the bin, within ``BIN_DAYS`` of its deletion (409 after:
    the retention sweep purges it). Restoring a document not in the bin changes nothing."""
    document = await get_document(session, principal, document_id, lock=True)
    if document.deleted_at is None:
        return document
    if datetime.now(UTC) - document.deleted_at > timedelta(days=BIN_DAYS):
        raise Conflict(
            f"This document was deleted more than {BIN_DAYS} days ago and can no longer be restored"
        )
    before = {"deleted_at": document.deleted_at.isoformat()}
    document.deleted_at = None
    document.deleted_by = None
    await session.flush()
    await session.refresh(document, ["updated_at"])
    await audit.record(
        session,
        principal,
        action="document.restored",
        record_type="document",
        record_id=document.id,
        before=before,
        after={"deleted_at": None},
    )
    return document


@dataclass(frozen=True)
class Detailed:
    """A document as the API shows it: with its current version and whether a legal hold
    covers it."""

    document: Document
    current_version: DocumentVersion | None
    legal_hold: bool


async def detailed(session: AsyncSession, principal: Principal, document: Document) -> Detailed:
    current = (
        await VERSIONS.get(session, principal, document.current_version_id)
        if document.current_version_id is not None
        else None
    )
    held = await holds.is_held(session, principal.firm_id, document)
    return Detailed(document, current, held)


async def view_document(
    session: AsyncSession, principal: Principal, document_id: uuid.UUID
) -> Detailed:
    """The document, recorded as viewed by the principal (regulated work needs to know who
    read what)."""
    found = await detailed(session, principal, await get_document(session, principal, document_id))
    await audit.record(
        session,
        principal,
        action="document.viewed",
        record_type="document",
        record_id=document_id,
        after={"version_id": summarize(found.document)["current_version_id"]},
    )
    return found


async def view_version(
    session: AsyncSession,
    principal: Principal,
    document_id: uuid.UUID,
    version_id: uuid.UUID,
) -> DocumentVersion:
    """One version, recorded as a view of its document."""
    version = await get_version(session, principal, document_id, version_id)
    await audit.record(
        session,
        principal,
        action="document.viewed",
        record_type="document",
        record_id=document_id,
        after={"version_id": str(version.id)},
    )
    return version


async def list_versions(
    session: AsyncSession,
    principal: Principal,
    document_id: uuid.UUID,
    *,
    page: PageParams,
    into: Callable[[dict[str, Any]], T],
) -> Page[T]:
    """Newest first; each row (the version's columns but its text and search vector) made
    into ``T``."""
    await DOCUMENTS.require(session, principal, document_id)
    stmt = select(*_VERSION_COLUMNS).where(
        VERSIONS.owned_by(principal), DocumentVersion.document_id == document_id
    )
    stmt = keyset(stmt, DocumentVersion.created_at, DocumentVersion.id, page)
    return await read_page(session, stmt, page, into)


async def download_link(
    session: AsyncSession,
    principal: Principal,
    storage: Storage,
    settings: Settings,
    document_id: uuid.UUID,
    version_id: uuid.UUID,
) -> blobs.SignedLink:
    """A short-lived signed URL to the version's bytes, recorded as a download."""
    version = await get_version(session, principal, document_id, version_id)
    blob = await BLOBS.get_or_404(session, principal, version.blob_id)
    link = await blobs.download_link(
        storage, settings, blob, file_name=version.file_name, firm_id=principal.firm_id
    )
    await audit.record(
        session,
        principal,
        action="document.downloaded",
        record_type="document",
        record_id=document_id,
        after={"version_id": str(version.id), "file_name": version.file_name},
    )
    return link


@dataclass(frozen=True)
class DocumentFilters:
    """``deleted`` lists the bin instead of the documents in use; ``tag`` keeps documents
    with every tag given."""

    client_id: uuid.UUID | None = None
    folder_id: uuid.UUID | None = None
    status: DocumentStatus | None = None
    document_type: str | None = None
    tags: tuple[str, ...] = ()
    deleted: bool = False


_VERSION_OBJECT = func.jsonb_build_object(
    "id",
    DocumentVersion.id,
    "document_id",
    DocumentVersion.document_id,
    "number",
    DocumentVersion.number,
    "file_name",
    DocumentVersion.file_name,
    "sha256",
    DocumentVersion.sha256,
    "size",
    DocumentVersion.size,
    "content_type",
    DocumentVersion.content_type,
    "uploaded_by",
    DocumentVersion.uploaded_by,
    "note",
    DocumentVersion.note,
    "restored_from_id",
    DocumentVersion.restored_from_id,
    "text_status",
    DocumentVersion.text_status,
    "created_at",
    DocumentVersion.created_at,
)
# Null rather than an object of nulls when the document has no current version (its
# versions purged).
_VERSION_JSON = case((DocumentVersion.id.is_(None), null()), else_=_VERSION_OBJECT)

# A version's body text may be megabytes: lists leave it (and the search vector) out.
_VERSION_COLUMNS = [
    column
    for column in DocumentVersion.__table__.columns
    if column.name not in ("firm_id", "body_text", "search")
]
# The firm's documents as the list reads them: through the firm_documents view (migration
# 0021), where the firm condition is applied by the view's owner so that the tags' GIN
# index stays usable under row-level security; the query filters by firm_id as well.
_FIRM_DOCUMENTS = aliased(
    Document,
    sql_text(
        "SELECT "  # noqa: S608 (column names of our own model, no input)
        + ", ".join(column.name for column in Document.__table__.columns)
        + " FROM firm_documents"
    )
    .columns(*Document.__table__.columns)
    .subquery("documents"),
)
_LIST_COLUMNS = [
    getattr(_FIRM_DOCUMENTS, column.key)
    for column in Document.__table__.columns
    if column.key != "firm_id"
]


def documents_query(
    principal: Principal, filters: DocumentFilters, page: PageParams
) -> Select[Any]:
    document = _FIRM_DOCUMENTS
    stmt = (
        select(
            *_LIST_COLUMNS,
            _VERSION_JSON.label("current_version"),
            holds.held(principal, document.id, document.client_id).label("legal_hold"),
        )
        .select_from(document)
        .outerjoin(
            DocumentVersion,
            and_(
                DocumentVersion.id == document.current_version_id,
                DocumentVersion.firm_id == document.firm_id,
            ),
        )
        .where(document.firm_id == principal.firm_id)
    )
    if filters.deleted:
        stmt = stmt.where(document.deleted_at.is_not(None))
    else:
        stmt = stmt.where(document.deleted_at.is_(None))
    if filters.client_id is not None:
        stmt = stmt.where(document.client_id == filters.client_id)
    if filters.folder_id is not None:
        stmt = stmt.where(document.folder_id == filters.folder_id)
    if filters.status is not None:
        stmt = stmt.where(document.status == filters.status.value)
    if filters.document_type is not None:
        stmt = stmt.where(document.document_type == filters.document_type)
    if filters.tags:
        stmt = stmt.where(document.tags.contains(list(filters.tags)))
    return keyset(stmt, document.created_at, document.id, page)


async def list_documents(
    session: AsyncSession,
    principal: Principal,
    *,
    filters: DocumentFilters,
    page: PageParams,
    into: Callable[[dict[str, Any]], T],
) -> Page[T]:
    """Newest first; each row (the document's columns, ``current_version`` as an object
    and ``legal_hold``) made into ``T``."""
    return await read_page(session, documents_query(principal, filters, page), page, into)
