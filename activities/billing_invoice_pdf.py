"""InvoicePdfWorkflow's activity: render the invoice and store the PDF as the newest
version of its document, in one unit of work of the invoice's firm (the rules live in
services/billing/invoice_pdf.py). Layout runs in a thread; a rendering equal to the newest
version stores nothing, so a retried attempt adds no second version.

A document that refuses a new version (put into review or the bin by staff) or a blob the
firm's storage settings refuse (quota, allowed types) is a business failure: retrying
cannot heal it, so the run fails with the reason for ops to see."""

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.unit_of_work import firm_transaction
from core.errors import AppError
from core.temporal import ClientProvider
from services.billing.invoice_pdf import InvoicePdfs
from workflows.billing.invoice_pdf.contracts import (
    REFUSED,
    RENDER_ACTIVITY,
    RenderCall,
    RenderOutcome,
)


class InvoicePdfActivities:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        temporal: ClientProvider,
        *,
        pdfs: InvoicePdfs,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._temporal = temporal
        self._pdfs = pdfs

    @activity.defn(name=RENDER_ACTIVITY)
    async def render(self, call: RenderCall) -> RenderOutcome:
        try:
            async with firm_transaction(
                self._sessionmaker, call.firm_id, self._temporal
            ) as session:
                rendered = await self._pdfs.render_and_store(session, call.firm_id, call.invoice_id)
        except AppError as exc:
            raise ApplicationError(str(exc), type=REFUSED, non_retryable=True) from None
        return rendered.outcome
