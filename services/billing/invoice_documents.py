"""The invoice's PDF as the rest of the app sees it: queueing a rendering when what the PDF
shows changes, the newest version of the invoice's document, and the short-lived links
that download it (staff, and the client behind a pay link).

The rendering itself is the worker's (services/billing/invoice_pdf.py, run by
``InvoicePdfWorkflow``): it is started through the outbox in the transaction that
finalizes, voids or credits the invoice, so a rolled-back change renders nothing."""

import uuid
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from core.config import Settings
from core.errors import Conflict
from core.principal import Principal
from models import Document, DocumentVersion, Invoice, InvoiceStatus
from providers.email import Attachment
from providers.storage import Storage
from services import audit
from services.billing.repository import INVOICES
from services.documents import blobs
from services.documents.repository import BLOBS, DOCUMENTS, VERSIONS
from services.outbox import writer as outbox
from workflows.billing.invoice_pdf import contracts as invoice_pdf


async def queue_rendering(
    session: AsyncSession, firm_id: uuid.UUID, invoice_id: uuid.UUID, occasion: str
) -> None:
    """Render the invoice's PDF again after this transaction commits; once per occasion
    ("finalized", "voided", "credited-<credit note id>")."""
    await outbox.enqueue_message(
        session,
        firm_id,
        outbox.start_workflow(
            invoice_pdf.WORKFLOW_NAME,
            invoice_pdf.workflow_id(invoice_id, occasion),
            invoice_pdf.InvoicePdfInput(firm_id=firm_id, invoice_id=invoice_id, occasion=occasion),
        ),
    )


async def newest_version(
    session: AsyncSession, invoice: Invoice
) -> tuple[Document, DocumentVersion] | None:
    """The invoice's document and its current version; None before the first rendering,
    or when staff deleted the document (the next rendering starts a new one)."""
    if invoice.document_id is None:
        return None
    document = await DOCUMENTS.get(
        session, invoice.firm_id, invoice.document_id, Document.deleted_at.is_(None)
    )
    if document is None or document.current_version_id is None:
        return None
    version = await VERSIONS.get(session, invoice.firm_id, document.current_version_id)
    return None if version is None else (document, version)


class InvoiceAttachments(Protocol):
    """The invoice's newest PDF (services/billing/invoice_pdf.InvoicePdfs), rendered first
    when there is none yet: what the invoice email attaches, injected into the dunning
    mailer so the API never imports the renderer."""

    async def attachment(self, session: AsyncSession, invoice: Invoice) -> Attachment | None: ...


class NoInvoicePdf(Conflict):
    title = "No PDF yet"
    slug = "invoice-pdf-missing"


async def _link(
    session: AsyncSession,
    storage: Storage,
    settings: Settings,
    invoice: Invoice,
) -> tuple[DocumentVersion, blobs.SignedLink] | None:
    newest = await newest_version(session, invoice)
    if newest is None:
        return None
    version = newest[1]
    blob = await BLOBS.get_or_404(session, invoice.firm_id, version.blob_id)
    link = await blobs.download_link(
        storage, settings, blob, file_name=version.file_name, firm_id=invoice.firm_id
    )
    return version, link


async def pdf_link(
    session: AsyncSession,
    principal: Principal,
    storage: Storage,
    settings: Settings,
    invoice_id: uuid.UUID,
) -> blobs.SignedLink:
    """A short-lived link to the newest PDF of the firm's invoice, audited as a download
    of its document; 409 while there is none (a draft, or the rendering has not run)."""
    invoice = await INVOICES.get_or_404(session, principal, invoice_id)
    found = (
        None
        if invoice.status == InvoiceStatus.draft
        else await _link(session, storage, settings, invoice)
    )
    if found is None:
        raise NoInvoicePdf(
            "This invoice has no PDF yet: it is rendered when the invoice is finalized",
            errors=[{"pointer": "/invoice_id", "detail": f"no PDF for a {invoice.status} invoice"}],
        )
    version, link = found
    await audit.record(
        session,
        principal,
        action="document.downloaded",
        record_type="document",
        record_id=version.document_id,
        after={"version_id": str(version.id), "file_name": version.file_name},
    )
    return link


async def public_pdf_url(
    session: AsyncSession, storage: Storage, settings: Settings, invoice: Invoice
) -> str | None:
    """The client's link to the PDF on the pay page (an invoice the pay link opened); None
    until the first rendering is stored."""
    found = await _link(session, storage, settings, invoice)
    return None if found is None else found[1].url
