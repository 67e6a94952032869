"""Envelope templates of the caller's firm (kept by admins: ``esignature:manage``), and
envelopes made from them (by whoever sends: ``esignature:send``)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status
from fastapi.responses import JSONResponse

from api import idempotency
from api.deps import IdempotencyDep, PageDep, Requires, SessionDep, StorageDep
from api.openapi import errors
from api.routes.envelope_documents import PNG
from api.schemas.common import Page, page_of
from api.schemas.envelope_templates import (
    TemplateCreate,
    TemplateInstantiate,
    TemplateRead,
    TemplateSummary,
    TemplateUpdate,
    template_read,
)
from api.schemas.envelopes import EnvelopeRead, envelope_read
from core.errors import BadRequest, Conflict, NotFound, Unprocessable
from core.permissions import Permission
from core.principal import Principal
from services.esignature import envelope_templates, envelopes, pages, template_documents

router = APIRouter(prefix="/envelope-templates")

Reader = Annotated[Principal, Requires(Permission.esignature_read)]
Sender = Annotated[Principal, Requires(Permission.esignature_send)]
Manager = Annotated[Principal, Requires(Permission.esignature_manage)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=TemplateRead,
    responses=errors(Conflict, Unprocessable),
)
async def create_template(
    body: TemplateCreate, principal: Manager, session: SessionDep, storage: StorageDep
) -> TemplateRead:
    view = await envelope_templates.create_template(session, storage, principal, fields_=body)
    return template_read(view)


@router.get("", responses=errors(BadRequest))
async def list_templates(
    principal: Reader, session: SessionDep, page: PageDep
) -> Page[TemplateSummary]:
    """Newest first, keyset-paginated; without the documents' pages (read one template
    for them)."""
    result = await envelope_templates.list_templates(
        session, principal, page=page, into=TemplateSummary.model_validate
    )
    return page_of(result.items, result)


@router.get("/{template_id}")
async def get_template(
    template_id: uuid.UUID, principal: Reader, session: SessionDep, storage: StorageDep
) -> TemplateRead:
    """The template, each document measured from its current version (title, pages)."""
    view = await envelope_templates.view_template(session, storage, principal, template_id)
    return template_read(view)


@router.patch("/{template_id}", responses=errors(Conflict, Unprocessable))
async def update_template(
    template_id: uuid.UUID,
    body: TemplateUpdate,
    principal: Manager,
    session: SessionDep,
    storage: StorageDep,
) -> TemplateRead:
    view = await envelope_templates.update_template(
        session, storage, principal, template_id, patch=body
    )
    return template_read(view)


@router.get(
    "/{template_id}/documents/{document_id}/pages/{page}",
    response_class=Response,
    responses={**PNG, **errors(NotFound, Unprocessable)},
)
async def page_preview(
    template_id: uuid.UUID,
    document_id: uuid.UUID,
    page: Annotated[int, Path(ge=1, le=10_000)],
    principal: Reader,
    session: SessionDep,
    storage: StorageDep,
    width: Annotated[
        int,
        Query(ge=pages.MIN_WIDTH_PX, le=pages.MAX_WIDTH_PX, description="Pixels wide."),
    ] = 800,
) -> Response:
    """A page of one of the template's documents (its current version), for placing the
    roles' fields; 404 for a document the template lacks or a page past its last."""
    png = await template_documents.page_png(
        session, storage, principal, template_id, document_id, page, width_px=width
    )
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=60"})


@router.delete("/{template_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_template(template_id: uuid.UUID, principal: Manager, session: SessionDep) -> None:
    """Delete the template; envelopes made from it are kept."""
    await envelope_templates.delete_template(session, principal, template_id)


@router.post(
    "/{template_id}/envelopes",
    status_code=status.HTTP_201_CREATED,
    response_model=EnvelopeRead,
    responses=errors(Conflict, NotFound, Unprocessable),
)
async def instantiate_template(
    template_id: uuid.UUID,
    body: TemplateInstantiate,
    principal: Sender,
    session: SessionDep,
    storage: StorageDep,
    idem: IdempotencyDep,
) -> JSONResponse:
    """An envelope for a client from the template: a draft, or sent at once with
    ``send: true`` (the send's 422s apply then). Accepts an ``Idempotency-Key``."""

    async def create() -> EnvelopeRead:
        envelope_id = await envelope_templates.instantiate(
            session, storage, principal, template_id, body
        )
        return envelope_read(await envelopes.view(session, principal, envelope_id))

    return await idempotency.run(
        session, principal, idem, payload=body, status_code=201, handler=create
    )
