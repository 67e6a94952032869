"""What the rest of billing needs to know of ``InvoicePdfWorkflow``: its name, id, input
and result, and its one activity's models.

One run per occasion that changes what the invoice's PDF shows (finalized, voided,
credited by a credit note): ``invoice-pdf-<invoice id>-<occasion>``, so a void that comes
while the finalize rendering still runs starts its own run instead of being deduplicated
away. Each run renders the invoice as it is when the activity reads it, so runs finishing
out of order still leave the newest state as the newest version."""

import enum
import uuid

from pydantic import BaseModel

from core.search_attributes import SA_INVOICE, ProcessInput, StartAttributes

WORKFLOW_NAME = "InvoicePdfWorkflow"
PROCESS = "invoice-pdf"
RENDER_ACTIVITY = "billing.invoice_pdf.render"
# The activity's non-retryable failure: the document or the firm's storage settings refuse
# the rendering (document in review or in the bin, quota, allowed types).
REFUSED = "InvoicePdfRefused"


def workflow_id(invoice_id: uuid.UUID, occasion: str) -> str:
    return f"invoice-pdf-{invoice_id}-{occasion}"


class InvoicePdfInput(ProcessInput):
    firm_id: uuid.UUID
    invoice_id: uuid.UUID
    # "finalized", "voided" or "credited-<credit note id>": what made the PDF stale.
    occasion: str

    def search_attributes(self) -> StartAttributes:
        return StartAttributes(PROCESS, self.firm_id, {SA_INVOICE: str(self.invoice_id)})


class RenderCall(BaseModel):
    firm_id: uuid.UUID
    invoice_id: uuid.UUID


class RenderStatus(enum.StrEnum):
    # A new version of the invoice's document (the first one creates the document).
    stored = "stored"
    # The newest version already holds these bytes: a retried or overtaken run.
    unchanged = "unchanged"
    # The invoice is gone or still a draft: nothing to render.
    skipped = "skipped"


class RenderOutcome(BaseModel):
    status: RenderStatus
    document_id: uuid.UUID | None = None
    version_number: int | None = None


class InvoicePdfResult(BaseModel):
    status: RenderStatus
    document_id: uuid.UUID | None = None
    version_number: int | None = None
