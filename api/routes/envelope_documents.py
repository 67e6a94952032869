"""An envelope's documents: added to and taken out of a draft, a page's preview (the
pinned version rendered as PNG) and download links to the pinned and the sealed copy."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response, status

from api.deps import Requires, SessionDep, SettingsDep, StorageDep
from api.openapi import errors
from api.schemas.documents import DownloadLink
from api.schemas.envelopes import DocumentAdd, DownloadRequest, EnvelopeRead, envelope_read
from core.errors import Conflict, NotFound, Unprocessable
from core.permissions import Permission
from core.principal import Principal
from services.esignature import envelope_documents, envelopes, pages

router = APIRouter(prefix="/envelopes/{envelope_id}/documents")

Reader = Annotated[Principal, Requires(Permission.esignature_read)]
Sender = Annotated[Principal, Requires(Permission.esignature_send)]

PNG: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The page rendered as PNG.",
        "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
    }
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=EnvelopeRead,
    responses=errors(Conflict, Unprocessable),
)
async def add_document(
    envelope_id: uuid.UUID,
    body: DocumentAdd,
    principal: Sender,
    session: SessionDep,
    storage: StorageDep,
) -> EnvelopeRead:
    """Add a library document (its current version, a PDF, pinned) to a draft."""
    await envelope_documents.add_document(
        session, storage, principal, envelope_id, body.document_id
    )
    return envelope_read(await envelopes.view(session, principal, envelope_id))


@router.delete("/{envelope_document_id}", responses=errors(Conflict))
async def remove_document(
    envelope_id: uuid.UUID,
    envelope_document_id: uuid.UUID,
    principal: Sender,
    session: SessionDep,
) -> EnvelopeRead:
    """Take a document out of a draft, with the fields placed on it."""
    await envelope_documents.remove_document(session, principal, envelope_id, envelope_document_id)
    return envelope_read(await envelopes.view(session, principal, envelope_id))


@router.get(
    "/{envelope_document_id}/pages/{page}",
    response_class=Response,
    responses={**PNG, **errors(NotFound)},
)
async def page_preview(
    envelope_id: uuid.UUID,
    envelope_document_id: uuid.UUID,
    page: Annotated[int, Path(ge=1, le=10_000)],
    principal: Reader,
    session: SessionDep,
    storage: StorageDep,
    width: Annotated[
        int,
        Query(ge=pages.MIN_WIDTH_PX, le=pages.MAX_WIDTH_PX, description="Pixels wide."),
    ] = 800,
) -> Response:
    """A page of the pinned version, for the builder (fields are placed on it by fractions
    of its size, so any width will do)."""
    png = await envelope_documents.page_png(
        session, storage, principal, envelope_id, envelope_document_id, page, width_px=width
    )
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=300"})


@router.post("/{envelope_document_id}/download-link", responses=errors(Conflict))
async def download_link(
    envelope_id: uuid.UUID,
    envelope_document_id: uuid.UUID,
    body: DownloadRequest,
    principal: Reader,
    session: SessionDep,
    storage: StorageDep,
    settings: SettingsDep,
) -> DownloadLink:
    """A short-lived URL to the version the envelope pinned (``original``) or to the sealed
    copy (``signed``: 409 until the envelope completed). Recorded as a download."""
    link = await envelope_documents.download_link(
        session,
        principal,
        storage,
        settings,
        envelope_id,
        envelope_document_id,
        signed=body.variant == "signed",
    )
    return DownloadLink(url=link.url, expires_at=link.expires_at)
