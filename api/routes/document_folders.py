"""Document folders of the caller's firm: a tree per client, and one for the firm's own
documents."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from api.deps import PageDep, Requires, SessionDep
from api.openapi import errors
from api.schemas.common import Page, page_of
from api.schemas.documents import FolderCreate, FolderRead, FolderUpdate
from core.errors import Conflict, NotFound, Unprocessable
from core.permissions import Permission
from core.principal import Principal
from services.documents import folders
from services.documents.folders import FolderFilters

router = APIRouter(prefix="/document-folders")

Reader = Annotated[Principal, Requires(Permission.documents_read)]
Writer = Annotated[Principal, Requires(Permission.documents_write)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses=errors(Conflict, NotFound, Unprocessable),
)
async def create_folder(body: FolderCreate, principal: Writer, session: SessionDep) -> FolderRead:
    """A new folder; a sibling of the same name is a 409."""
    return FolderRead.model_validate(await folders.create_folder(session, principal, fields=body))


@router.get("")
async def list_folders(
    principal: Reader,
    session: SessionDep,
    page: PageDep,
    client_id: uuid.UUID | None = None,
    parent_id: uuid.UUID | None = None,
    root: Annotated[bool, Query(description="Only top-level folders.")] = False,
) -> Page[FolderRead]:
    """Newest first, keyset-paginated."""
    filters = FolderFilters(client_id=client_id, parent_id=parent_id, root=root)
    result = await folders.list_folders(
        session, principal, filters=filters, page=page, into=FolderRead.model_validate
    )
    return page_of(result.items, result)


@router.patch("/{folder_id}", responses=errors(Conflict, Unprocessable))
async def update_folder(
    folder_id: uuid.UUID, body: FolderUpdate, principal: Writer, session: SessionDep
) -> FolderRead:
    """Rename or move; a move stays among the folders of the same client."""
    folder = await folders.update_folder(session, principal, folder_id, patch=body)
    return FolderRead.model_validate(folder)


@router.delete("/{folder_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(Conflict))
async def delete_folder(folder_id: uuid.UUID, principal: Writer, session: SessionDep) -> Response:
    """Only an empty folder (no documents, the bin's included, and no subfolders); 409
    otherwise."""
    await folders.delete_folder(session, principal, folder_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
