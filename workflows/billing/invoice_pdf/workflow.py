"""InvoicePdfWorkflow: render an invoice to PDF and store it as the newest version of the
invoice's document, once per occasion (contracts.py). One activity; its idempotency lives
in the activity (a rendering equal to the newest version adds nothing), so the retry
policy can be generous."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from workflows.billing.invoice_pdf.contracts import (
        RENDER_ACTIVITY,
        WORKFLOW_NAME,
        InvoicePdfInput,
        InvoicePdfResult,
        RenderCall,
        RenderOutcome,
    )

# Layout takes well under a second per page; a long invoice under load gets room.
RENDER_TIMEOUT = timedelta(minutes=2)
RENDER_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    maximum_attempts=20,
)


@workflow.defn(name=WORKFLOW_NAME)
class InvoicePdfWorkflow:
    @workflow.run
    async def run(self, input: InvoicePdfInput) -> InvoicePdfResult:
        outcome: RenderOutcome = await workflow.execute_activity(
            RENDER_ACTIVITY,
            RenderCall(firm_id=input.firm_id, invoice_id=input.invoice_id),
            result_type=RenderOutcome,
            start_to_close_timeout=RENDER_TIMEOUT,
            retry_policy=RENDER_RETRY,
        )
        return InvoicePdfResult(
            status=outcome.status,
            document_id=outcome.document_id,
            version_number=outcome.version_number,
        )
