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
runs it in a worker thread so the activity's event loop keeps heartbeating and serving."""

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from weasyprint import CSS, HTML  # type: ignore[import-untyped]
from weasyprint.urls import URLFetcher  # type: ignore[import-untyped]

from models import Invoice, InvoiceKind

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
