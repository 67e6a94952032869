"""The invoice as a PDF: the same sandboxed HTML the invoice page shows
(services/billing/rendering.py, the firm's template or the shipped default), laid out by
WeasyPrint as PDF/A-3b, so that an e-invoice XML (EN 16931 / Factur-X) can be embedded in
it later.

Three things the HTML cannot be trusted with are added here, whatever template the firm
wrote:

- the page: A4 with print margins, and the invoice's standing (VOID, CREDITED, PAID …) in
  the top margin of every page, so a voided invoice's PDF says so even when the firm's
  template shows no stamp;
- the metadata: title "Invoice <number>" and fixed dates (created when the invoice was
  finalized, modified when its status last moved), so the same invoice in the same state
  renders to the same bytes and a retried rendering is recognised by its SHA-256;
- no fetching: the template is firm-written, so every URL it names (images, stylesheets,
  fonts) is refused except inline ``data:`` ones; the worker never reads a local file or
  calls a host on a template's behalf.

Layout is CPU-bound (about 0.3 s for a one-page invoice on this machine): ``render_pdf``
runs it in a worker thread so the activity's event loop keeps heartbeating and serving.

Each rendering is stored as the newest version of the invoice's document (a document of
the invoice's client, type ``invoice``; the first rendering creates it and
``Invoice.document_id`` keeps the link). A rendering whose SHA-256 equals the newest
version's adds nothing, which makes the storing activity idempotent. This module is the
worker's (WeasyPrint takes most of a second to import); the API's side is
services/billing/invoice_documents.py."""

import asyncio
import hashlib
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from weasyprint import CSS, HTML  # type: ignore[import-untyped]
from weasyprint.urls import URLFetcher  # type: ignore[import-untyped]

from core.errors import AppError, NotFound
from core.principal import Principal
from models import Document, DocumentVersion, Firm, Invoice, InvoiceKind, InvoiceStatus
from providers.email import Attachment
from providers.storage import ObjectMissing, Storage
from services import audit
from services.billing import rendering
from services.billing.invoice_documents import newest_version
from services.billing.invoice_status import standing
from services.billing.invoices import get_invoice
from services.documents import blobs
from services.documents.documents import DocumentFields, add_version, create_document
from services.documents.repository import BLOBS
from workflows.billing.invoice_pdf.contracts import RenderOutcome, RenderStatus

log = logging.getLogger(__name__)

PDF_VARIANT = "pdf/a-3b"
CONTENT_TYPE = "application/pdf"

_PAGE_CSS = """
@page {
  size: A4;
  margin: 18mm 16mm 20mm;
  @bottom-right {
    content: "Page " counter(page) " of " counter(pages);
    font-size: 8pt;
    color: #666;
  }
}
html, body { margin: 0; }
tr, .totals { break-inside: avoid; }
thead { display: table-header-group; }
"""

_MARK_CSS = """
@page {
  @top-right {
    content: "%s";
    font: bold 14pt sans-serif;
    letter-spacing: .1em;
    color: #b00020;
  }
}
"""


class _NoFetching(URLFetcher):  # type: ignore[misc]
    """Inline ``data:`` URLs only; anything else a template names is refused (WeasyPrint
    logs it and leaves the resource out)."""

    def fetch(self, url: str, headers: Any = None) -> Any:
        if not url.lower().startswith("data:"):
            raise ValueError("invoice templates may only use inline data: URLs")
        return super().fetch(url, headers)


@dataclass(frozen=True)
class PdfPage:
    """What the PDF shows beyond the HTML: its title, its dates and the stamp."""

    title: str
    created: datetime
    modified: datetime
    mark: str | None


def _w3c(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def _css_string(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def pdf_bytes(html: str, page: PdfPage) -> bytes:
    """Lay ``html`` out as a PDF/A-3b document (blocking; see ``render_pdf``)."""
    stylesheets = [CSS(string=_PAGE_CSS)]
    if page.mark:
        stylesheets.append(CSS(string=_MARK_CSS % _css_string(page.mark)))
    document = HTML(string=html, url_fetcher=_NoFetching()).render(stylesheets=stylesheets)
    document.metadata.title = page.title
    document.metadata.created = _w3c(page.created)
    document.metadata.modified = _w3c(page.modified)
    pdf: bytes = document.write_pdf(pdf_variant=PDF_VARIANT)
    return pdf


async def render_pdf(html: str, page: PdfPage) -> bytes:
    return await asyncio.to_thread(pdf_bytes, html, page)


def document_title(invoice: Invoice) -> str:
    kind = "Credit note" if invoice.kind == InvoiceKind.credit_note else "Invoice"
    return f"{kind} {invoice.number}"


def file_name(invoice: Invoice) -> str:
    kind = "credit-note" if invoice.kind == InvoiceKind.credit_note else "invoice"
    return f"{kind}-{invoice.number}.pdf"


def state_moved_at(invoice: Invoice) -> datetime:
    """When the invoice's status last moved, from the stamps the status machine keeps
    (services/billing/invoice_status.move): stable across renderings of one state."""
    assert invoice.finalized_at is not None
    stamps = (invoice.voided_at, invoice.paid_at, invoice.uncollectible_at)
    return max([invoice.finalized_at, *(stamp for stamp in stamps if stamp is not None)])


def page_of(invoice: Invoice, mark: str | None) -> PdfPage:
    assert invoice.finalized_at is not None
    return PdfPage(
        title=document_title(invoice),
        created=invoice.finalized_at,
        modified=state_moved_at(invoice),
        mark=mark,
    )


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


@dataclass(frozen=True)
class Rendered:
    outcome: RenderOutcome
    # The newest version's bytes (what was just rendered, stored or equal to the newest).
    data: bytes | None = None
    file_name: str | None = None


async def _store(
    session: AsyncSession,
    storage: Storage,
    principal: Principal,
    invoice: Invoice,
    data: bytes,
    newest: tuple[Document, DocumentVersion] | None,
) -> DocumentVersion:
    firm = await session.get_one(Firm, invoice.firm_id)
    name = file_name(invoice)
    blob = await blobs.store_upload(session, storage, firm, _chunks(data), declared_name=name)
    note = f"Rendered by firmflow: {invoice.status}"
    if newest is not None:
        return await add_version(session, principal, newest[0], blob, file_name=name, note=note)
    fields = DocumentFields(
        title=document_title(invoice), client_id=invoice.client_id, document_type="invoice"
    )
    document = await create_document(
        session, principal, fields=fields, blob=blob, file_name=name, note=note
    )
    invoice.document_id = document.id
    await session.flush()
    version = await newest_version(session, invoice)
    assert version is not None
    return version[1]


async def render_and_store(
    session: AsyncSession, storage: Storage, firm_id: uuid.UUID, invoice_id: uuid.UUID
) -> Rendered:
    """Render the invoice as it is now and store it unless the newest version already holds
    these bytes. The invoice stays locked from the read to the commit, so a void committed
    meanwhile waits, and renderings are stored in the order of the states they show."""
    principal = Principal.system(firm_id)
    try:
        invoice = await get_invoice(session, principal, invoice_id, lock=True)
    except NotFound:
        return Rendered(RenderOutcome(status=RenderStatus.skipped))
    if invoice.status == InvoiceStatus.draft or invoice.finalized_at is None:
        return Rendered(RenderOutcome(status=RenderStatus.skipped))
    html = (await rendering.render_invoice(session, principal, invoice.id)).html
    data = await render_pdf(html, page_of(invoice, standing(invoice).mark))
    newest = await newest_version(session, invoice)
    if newest is not None and newest[1].sha256 == hashlib.sha256(data).hexdigest():
        document, version = newest
        outcome = RenderOutcome(
            status=RenderStatus.unchanged, document_id=document.id, version_number=version.number
        )
        return Rendered(outcome, data, version.file_name)
    version = await _store(session, storage, principal, invoice, data, newest)
    await audit.record(
        session,
        principal,
        action="invoice.pdf_rendered",
        record_type="invoice",
        record_id=invoice.id,
        after={
            "document_id": str(version.document_id),
            "version": version.number,
            "sha256": version.sha256,
            "status": invoice.status,
        },
    )
    outcome = RenderOutcome(
        status=RenderStatus.stored, document_id=version.document_id, version_number=version.number
    )
    return Rendered(outcome, data, version.file_name)


@dataclass(frozen=True)
class InvoicePdfs:
    """The worker's side of invoice PDFs, bound to the storage provider."""

    storage: Storage

    async def render_and_store(
        self, session: AsyncSession, firm_id: uuid.UUID, invoice_id: uuid.UUID
    ) -> Rendered:
        return await render_and_store(session, self.storage, firm_id, invoice_id)

    async def attachment(self, session: AsyncSession, invoice: Invoice) -> Attachment | None:
        """The newest version of the invoice's PDF, to attach to its email; rendered and
        stored first when there is none yet (the email may go before the rendering that
        finalizing queued has run)."""
        newest = await newest_version(session, invoice)
        if newest is None:
            try:
                # A savepoint: a refused store leaves the send's transaction usable.
                async with session.begin_nested():
                    rendered = await self.render_and_store(session, invoice.firm_id, invoice.id)
            except AppError as exc:
                # The invoice email must not wait on a full quota: it goes with its link.
                log.warning(
                    "invoice PDF not stored; the email goes without it",
                    extra={"invoice_id": str(invoice.id), "problem": exc.detail},
                )
                return None
            if rendered.data is None or rendered.file_name is None:
                return None
            return Attachment(rendered.file_name, CONTENT_TYPE, rendered.data)
        version = newest[1]
        blob = await BLOBS.get_or_404(session, invoice.firm_id, version.blob_id)
        try:
            data = b"".join([chunk async for chunk in self.storage.read(blob.storage_key)])
        except ObjectMissing:
            # Bytes lost from storage must not hold the email back for days of retries.
            log.error(
                "invoice PDF missing from storage; the email goes without it",
                extra={"invoice_id": str(invoice.id), "blob": blob.sha256},
            )
            return None
        return Attachment(version.file_name, version.content_type, data)
