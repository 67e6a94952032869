"""Invoices and credit notes of the caller's firm: drafts, the status actions, the list
and the HTML view."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from api import idempotency
from api.deps import IdempotencyDep, PageDep, Requires, SessionDep
from api.openapi import errors
from api.schemas.billing import (
    InvoiceCreate,
    InvoiceRead,
    InvoiceSummary,
    InvoiceUpdate,
    VoidRequest,
    invoice_read,
)
from api.schemas.common import Page, page_of
from core.errors import Conflict, NotFound
from core.permissions import Permission
from core.principal import Principal
from models import Invoice, InvoiceKind, InvoiceStatus
from services.billing import invoices, rendering
from services.billing.invoice_status import IllegalTransition
from services.billing.invoices import InvoiceFilters
from services.billing.seller import SellerDetailsMissing

router = APIRouter(prefix="/invoices")

Reader = Annotated[Principal, Requires(Permission.billing_read)]
Writer = Annotated[Principal, Requires(Permission.billing_write)]

# The firm's template is HTML its staff write: the view may style itself, never script.
HTML_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:"


async def _read(session: AsyncSession, invoice: Invoice) -> InvoiceRead:
    return invoice_read(invoice, await invoices.lines_of(session, invoice))


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=InvoiceRead, responses=errors(NotFound)
)
async def create_invoice(
    body: InvoiceCreate, principal: Writer, session: SessionDep, idem: IdempotencyDep
) -> JSONResponse:
    """Create a draft. Accepts an ``Idempotency-Key``."""

    async def create() -> InvoiceRead:
        invoice = await invoices.create_invoice(session, principal, fields=body)
        return await _read(session, invoice)

    return await idempotency.run(
        session, principal, idem, payload=body, status_code=201, handler=create
    )


@router.get("")
async def list_invoices(
    principal: Reader,
    session: SessionDep,
    page: PageDep,
    status: InvoiceStatus | None = None,
    client_id: uuid.UUID | None = None,
    kind: InvoiceKind | None = None,
    in_collections: Annotated[
        bool,
        Query(description="Only invoices escalated to collections that are still owed."),
    ] = False,
) -> Page[InvoiceSummary]:
    """Newest first, keyset-paginated; items come without their lines."""
    filters = InvoiceFilters(
        status=status, client_id=client_id, kind=kind, in_collections=in_collections
    )
    result = await invoices.list_invoices(session, principal, filters=filters, page=page)
    return page_of([InvoiceSummary.model_validate(i) for i in result.items], result)


@router.get("/{invoice_id}")
async def get_invoice(invoice_id: uuid.UUID, principal: Reader, session: SessionDep) -> InvoiceRead:
    return await _read(session, await invoices.get_invoice(session, principal, invoice_id))


@router.patch("/{invoice_id}", responses=errors(Conflict))
async def update_invoice(
    invoice_id: uuid.UUID, body: InvoiceUpdate, principal: Writer, session: SessionDep
) -> InvoiceRead:
    """Drafts only; a finalized invoice is a 409."""
    invoice = await invoices.update_invoice(session, principal, invoice_id, patch=body)
    return await _read(session, invoice)


@router.delete("/{invoice_id}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(Conflict))
async def delete_invoice(invoice_id: uuid.UUID, principal: Writer, session: SessionDep) -> Response:
    """Drafts only; a finalized invoice is voided instead."""
    await invoices.delete_invoice(session, principal, invoice_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{invoice_id}/finalize", responses=errors(IllegalTransition, SellerDetailsMissing))
async def finalize_invoice(
    invoice_id: uuid.UUID, principal: Writer, session: SessionDep
) -> InvoiceRead:
    """Draft -> open, dated and numbered."""
    invoice = await invoices.finalize_invoice(session, principal, invoice_id)
    return await _read(session, invoice)


@router.post("/{invoice_id}/send", responses=errors(IllegalTransition, SellerDetailsMissing))
async def send_invoice(
    invoice_id: uuid.UUID, principal: Writer, session: SessionDep
) -> InvoiceRead:
    """Finalize if still a draft, mark sent and start dunning; sending again is harmless."""
    invoice = await invoices.send_invoice(session, principal, invoice_id)
    return await _read(session, invoice)


@router.post("/{invoice_id}/void", responses=errors(IllegalTransition))
async def void_invoice(
    invoice_id: uuid.UUID,
    principal: Writer,
    session: SessionDep,
    body: VoidRequest | None = None,
) -> InvoiceRead:
    """Open -> void; an invoice with payments must be refunded first."""
    reason = body.reason if body else None
    invoice = await invoices.void_invoice(session, principal, invoice_id, reason=reason)
    return await _read(session, invoice)


@router.post("/{invoice_id}/mark-uncollectible", responses=errors(IllegalTransition))
async def mark_uncollectible(
    invoice_id: uuid.UUID, principal: Writer, session: SessionDep
) -> InvoiceRead:
    """Write the invoice off; a later payment in full still makes it paid."""
    invoice = await invoices.mark_uncollectible(session, principal, invoice_id)
    return await _read(session, invoice)


@router.get("/{invoice_id}/html", response_class=HTMLResponse)
async def invoice_html(
    invoice_id: uuid.UUID, principal: Reader, session: SessionDep
) -> HTMLResponse:
    """The invoice rendered with the firm's template, or the default one; the
    ``Invoice-Template`` header says which (``default-fallback`` when the firm's template
    failed on this invoice)."""
    rendered = await rendering.render_invoice(session, principal, invoice_id)
    return HTMLResponse(
        rendered.html,
        headers={
            "Content-Security-Policy": HTML_POLICY,
            "Invoice-Template": rendered.template,
        },
    )
