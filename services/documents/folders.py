"""Document folders: a tree per client (and one for the firm's documents of no client).
Sibling folders have different names; a folder holds documents of its own client only; a
folder is deleted only once empty (no documents, in use or in the bin, and no subfolders)."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, StringConstraints, field_validator
from sqlalchemy import Select, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import Conflict, Unprocessable
from core.not_null import NeverNull
from core.pagination import Page, PageParams, keyset, read_page
from core.principal import Principal
from models import Document, DocumentFolder
from services import audit
from services.clients import CLIENTS
from services.documents.repository import DOCUMENTS, FOLDERS
from services.patches import apply_patch

T = TypeVar("T")

# Deep enough for any filing plan; bounds the walk that refuses a cycle.
MAX_DEPTH = 20
_SIBLING_NAMES = "uq_document_folders_firm_id_parent_id_client_id_name"

FolderName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^/\\]+$"),
]


class FolderFields(BaseModel):
    """A new folder: under ``parent_id`` (a folder of the same client), or at the root of
    ``client_id``'s folders (of the firm's own, without a client). A subfolder takes its
    parent's client."""

    model_config = ConfigDict(extra="forbid")

    name: FolderName
    parent_id: uuid.UUID | None = None
    client_id: uuid.UUID | None = None


class FolderPatch(BaseModel):
    """Rename, or move under another folder of the same client (null: to the root)."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[FolderName | None, NeverNull] = None
    parent_id: uuid.UUID | None = None

    @field_validator("name", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may not be null")
        return value


def summarize(folder: DocumentFolder) -> dict[str, Any]:
    return {
        "name": folder.name,
        "parent_id": str(folder.parent_id) if folder.parent_id else None,
        "client_id": str(folder.client_id) if folder.client_id else None,
    }


def _duplicate() -> Conflict:
    return Conflict(
        "A folder with this name exists here already",
        errors=[{"pointer": "/name", "detail": "a sibling folder has this name"}],
    )


async def _write(session: AsyncSession) -> None:
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        diag = getattr(exc.orig, "diag", None)
        if getattr(diag, "constraint_name", "") != _SIBLING_NAMES:
            raise
        raise _duplicate() from exc


async def _parent(
    session: AsyncSession, principal: Principal, parent_id: uuid.UUID
) -> DocumentFolder:
    return await FOLDERS.get_or_404(session, principal, parent_id, pointer="/parent_id")


async def create_folder(
    session: AsyncSession, principal: Principal, *, fields: FolderFields
) -> DocumentFolder:
    client_id = fields.client_id
    if fields.parent_id is not None:
        parent = await _parent(session, principal, fields.parent_id)
        if "client_id" in fields.model_fields_set and client_id != parent.client_id:
            raise Unprocessable(
                "A subfolder belongs to its parent's client",
                errors=[{"pointer": "/client_id", "detail": "differs from the parent's client"}],
            )
        client_id = parent.client_id
    elif client_id is not None:
        await CLIENTS.require(session, principal, client_id, pointer="/client_id")
    folder = DocumentFolder(
        firm_id=principal.firm_id, name=fields.name, parent_id=fields.parent_id, client_id=client_id
    )
    session.add(folder)
    await _write(session)
    await session.refresh(folder, ["created_at", "updated_at"])
    await audit.record(
        session,
        principal,
        action="document_folder.created",
        record_type="document_folder",
        record_id=folder.id,
        after=summarize(folder),
    )
    return folder


async def _check_move(
    session: AsyncSession, principal: Principal, folder: DocumentFolder, parent_id: uuid.UUID
) -> None:
    """The new parent is of the same client and not the folder itself or below it."""
    parent = await _parent(session, principal, parent_id)
    if parent.client_id != folder.client_id:
        raise Unprocessable(
            "A folder moves only among the folders of its own client",
            errors=[{"pointer": "/parent_id", "detail": "folder of another client"}],
        )
    ancestor: DocumentFolder | None = parent
    for _ in range(MAX_DEPTH):
        if ancestor is None:
            return
        if ancestor.id == folder.id:
            raise Unprocessable(
                "A folder cannot move into itself or one of its subfolders",
                errors=[{"pointer": "/parent_id", "detail": "would make a cycle"}],
            )
        if ancestor.parent_id is None:
            return
        ancestor = await FOLDERS.get(session, principal, ancestor.parent_id)
    raise Unprocessable(
        f"Folders nest at most {MAX_DEPTH} deep",
        errors=[{"pointer": "/parent_id", "detail": "too deep"}],
    )


async def update_folder(
    session: AsyncSession, principal: Principal, folder_id: uuid.UUID, *, patch: FolderPatch
) -> DocumentFolder:
    folder = await FOLDERS.get_or_404(session, principal, folder_id, lock=True)
    if patch.parent_id is not None and patch.parent_id != folder.parent_id:
        await _check_move(session, principal, folder, patch.parent_id)

    async def write() -> None:
        await _write(session)

    await apply_patch(
        session,
        principal,
        folder,
        patch,
        record_type="document_folder",
        summarize=summarize,
        write=write,
    )
    return folder


async def delete_folder(session: AsyncSession, principal: Principal, folder_id: uuid.UUID) -> None:
    folder = await FOLDERS.get_or_404(session, principal, folder_id, lock=True)
    has_documents = await session.scalar(
        select(exists().where(DOCUMENTS.owned_by(principal), Document.folder_id == folder.id))
    )
    has_folders = await session.scalar(
        select(exists().where(FOLDERS.owned_by(principal), DocumentFolder.parent_id == folder.id))
    )
    if has_documents or has_folders:
        raise Conflict(
            "This folder is not empty; move or delete its documents (the bin's too) and "
            "subfolders first"
        )
    before = summarize(folder)
    await session.delete(folder)
    await session.flush()
    await audit.record(
        session,
        principal,
        action="document_folder.deleted",
        record_type="document_folder",
        record_id=folder_id,
        before=before,
    )


@dataclass(frozen=True)
class FolderFilters:
    """``root`` keeps the top-level folders (of ``client_id``, if given); ``parent_id``
    the subfolders of one folder."""

    client_id: uuid.UUID | None = None
    parent_id: uuid.UUID | None = None
    root: bool = False


def folders_query(principal: Principal, filters: FolderFilters, page: PageParams) -> Select[Any]:
    stmt = select(*DocumentFolder.__table__.columns).where(FOLDERS.owned_by(principal))
    if filters.client_id is not None:
        stmt = stmt.where(DocumentFolder.client_id == filters.client_id)
    if filters.parent_id is not None:
        stmt = stmt.where(DocumentFolder.parent_id == filters.parent_id)
    if filters.root:
        stmt = stmt.where(DocumentFolder.parent_id.is_(None))
    return keyset(stmt, DocumentFolder.created_at, DocumentFolder.id, page)


async def list_folders(
    session: AsyncSession,
    principal: Principal,
    *,
    filters: FolderFilters,
    page: PageParams,
    into: Callable[[dict[str, Any]], T],
) -> Page[T]:
    """Newest first."""
    return await read_page(session, folders_query(principal, filters, page), page, into)
