"""A template's documents as the builder needs them: each one's title and pages (count and
sizes) and a page rendered as PNG, both read from the document's CURRENT version — a
template pins nothing; the envelope made from it pins the version current then.

Nothing is cached: a template is read one at a time (the list leaves documents out), and a
cached measure would go stale with every new version of the document."""

import asyncio
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import NotFound, Unprocessable
from core.principal import Principal
from providers.storage import Storage
from services.documents.repository import DOCUMENTS
from services.esignature import pages
from services.esignature.envelope_documents import UsablePdf, usable_pdf
from services.esignature.repository import TEMPLATES


@dataclass(frozen=True)
class TemplateDocument:
    """``problem`` says why a document has no pages to show (moved to the bin, its current
    version not a PDF…); saving the template is refused until it is fixed."""

    document_id: uuid.UUID
    title: str | None
    page_count: int
    page_sizes: list[list[float]]
    problem: str | None = None


def measured(document_id: uuid.UUID, usable: UsablePdf) -> TemplateDocument:
    return TemplateDocument(document_id, usable.title, usable.page_count, usable.page_sizes)


async def documents_of(
    session: AsyncSession, storage: Storage, principal: Principal, document_ids: list[uuid.UUID]
) -> list[TemplateDocument]:
    """Each document measured, in the template's order; one that cannot be is listed with
    its problem rather than failing the read (the template stays editable)."""
    out: list[TemplateDocument] = []
    for index, document_id in enumerate(document_ids):
        try:
            usable = await usable_pdf(
                session, storage, principal, document_id, pointer=f"/document_ids/{index}"
            )
        except Unprocessable as exc:
            document = await DOCUMENTS.get(session, principal, document_id)
            title = document.title if document is not None else None
            detail = exc.errors[0]["detail"] if exc.errors else exc.detail
            out.append(TemplateDocument(document_id, title, 0, [], problem=detail))
        else:
            out.append(measured(document_id, usable))
    return out


async def page_png(
    session: AsyncSession,
    storage: Storage,
    principal: Principal,
    template_id: uuid.UUID,
    document_id: uuid.UUID,
    page: int,
    *,
    width_px: int,
) -> bytes:
    """Page ``page`` of the template's document's current version as PNG (404 for a
    document not in the template or a page past its last; 422 when it cannot be read)."""
    template = await TEMPLATES.get_or_404(session, principal, template_id)
    if document_id not in template.document_ids:
        raise NotFound("The template has no such document")
    index = template.document_ids.index(document_id)
    usable = await usable_pdf(
        session, storage, principal, document_id, pointer=f"/document_ids/{index}"
    )
    if page > usable.page_count:
        raise NotFound(f"The document has {usable.page_count} pages; there is no page {page}")
    return await asyncio.to_thread(pages.render_page_png, usable.data, page, width_px=width_px)
