"""Starting and nudging an invoice's dunning workflow, always through the outbox so that
a rolled-back change starts or signals nothing."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.outbox import writer as outbox
from workflows.billing.dunning import contracts as dunning
from workflows.billing.dunning.contracts import DunningInput


async def start_dunning(session: AsyncSession, firm_id: uuid.UUID, invoice_id: uuid.UUID) -> None:
    """Start the invoice's dunning once (its workflow id is the dedupe key)."""
    await outbox.enqueue_message(
        session,
        firm_id,
        outbox.start_workflow(
            dunning.WORKFLOW_NAME,
            dunning.workflow_id(invoice_id),
            DunningInput(firm_id=firm_id, invoice_id=invoice_id),
        ),
    )


async def signal_dunning(
    session: AsyncSession,
    firm_id: uuid.UUID,
    invoice_id: uuid.UUID,
    signal: str,
    *,
    cause: str,
) -> None:
    """Tell the invoice's dunning workflow that something changed. ``cause`` makes the
    dedupe key (e.g. the payment id), so one change signals once. A signal to a workflow
    that never started or has finished is dropped by the dispatcher: the workflow re-reads
    the invoice before every step anyway, the signal only makes it do so sooner."""
    await outbox.enqueue_message(
        session,
        firm_id,
        outbox.signal_workflow(
            dunning.workflow_id(invoice_id),
            signal,
            dedupe_key=f"signal:{dunning.workflow_id(invoice_id)}:{signal}:{cause}",
        ),
    )
