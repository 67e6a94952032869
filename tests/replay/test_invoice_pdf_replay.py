"""The saved InvoicePdfWorkflow history replays against today's code.

``histories/invoice_pdf.json`` is one run recorded on the time-skipping server with the
real activity against Postgres and the filesystem storage provider (``record_history``,
which tests/replay/regenerate.py runs): a finalized invoice of a firm with its seller
details, rendered to PDF/A-3b and stored as version 1 of a new client document. A change
to the workflow that would break executions in flight fails here: version it with
``workflow.patched``."""

import tempfile
import uuid
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.billing_invoice_pdf import InvoicePdfActivities
from core.db import tenant_session
from core.temporal import fixed_client
from providers.storage_filesystem import FilesystemStorage
from services.billing import invoices
from services.billing.invoice_fields import validate_invoice_fields
from services.billing.invoice_pdf import InvoicePdfs
from services.billing.settings import SettingsPatch, update_settings
from services.clients import create_client, validate_client_fields
from tests.fixtures.temporal import payload_text
from tests.replay.recording import (
    HISTORIES,
    Maker,
    activity_names,
    assert_tampering_caught,
    events,
    history_json,
    new_firm_owner,
    own_queue,
    recording_worker,
    replay_saved,
    started_type,
)
from workflows.billing.invoice_pdf import contracts as invoice_pdf
from workflows.billing.invoice_pdf.contracts import InvoicePdfInput
from workflows.billing.invoice_pdf.workflow import InvoicePdfWorkflow

HISTORY = HISTORIES / "invoice_pdf.json"
SELLER = {
    "seller_legal_name": "Replay Steuerberatung GmbH",
    "seller_address_line1": "Friedrichstraße 1",
    "seller_postal_code": "10117",
    "seller_city": "Berlin",
    "seller_country": "DE",
    "seller_vat_id": "DE123456789",
}


async def finalized_invoice(maker: Maker) -> tuple[uuid.UUID, uuid.UUID]:
    """A committed firm's finalized invoice: (firm id, invoice id)."""
    principal = await new_firm_owner(maker, "invoice-pdf")
    async with tenant_session(principal.firm_id, maker) as session:
        await update_settings(session, principal, patch=SettingsPatch.model_validate(SELLER))
        client = await create_client(
            session, principal, fields=validate_client_fields({"name": "Nordwind KG"})
        )
        line = {"description": "Annual accounts", "quantity": "1", "unit_price": 90_000}
        fields = validate_invoice_fields({"client_id": str(client.id), "lines": [line]})
        draft = await invoices.create_invoice(session, principal, fields=fields)
        invoice = await invoices.finalize_invoice(session, principal, draft.id)
        return principal.firm_id, invoice.id


async def record_history(env: WorkflowEnvironment, maker: Maker) -> str:
    """Run the scenario above on ``env`` (time-skipping) against the database behind
    ``maker`` and return the history as JSON."""
    queue = own_queue()
    firm_id, invoice_id = await finalized_invoice(maker)
    with tempfile.TemporaryDirectory() as files:
        pdfs = InvoicePdfs(storage=FilesystemStorage(Path(files)))
        activities = InvoicePdfActivities(maker, fixed_client(env.client), pdfs=pdfs)
        async with recording_worker(env, queue, [InvoicePdfWorkflow], [activities.render]):
            handle = await env.client.start_workflow(
                InvoicePdfWorkflow.run,
                InvoicePdfInput(firm_id=firm_id, invoice_id=invoice_id, occasion="finalized"),
                id=invoice_pdf.workflow_id(invoice_id, "finalized"),
                task_queue=queue,
            )
            result = await handle.result()
            assert (result.status, result.version_number) == ("stored", 1)
            return await history_json(handle)


def test_the_history_renders_once_and_stores_version_1() -> None:
    history = events(HISTORY)
    assert started_type(history) == invoice_pdf.WORKFLOW_NAME
    assert activity_names(history) == [invoice_pdf.RENDER_ACTIVITY]
    completed = history[-1]["workflowExecutionCompletedEventAttributes"]
    assert '"status":"stored"' in payload_text(completed)
    assert '"version_number":1' in payload_text(completed)


async def test_saved_history_replays_without_nondeterminism() -> None:
    await replay_saved([InvoicePdfWorkflow], HISTORY)


@pytest.mark.parametrize("field", ["activityType", "timer"])
async def test_replay_catches_a_history_the_code_would_not_produce(field: str) -> None:
    await assert_tampering_caught(
        [InvoicePdfWorkflow], HISTORY, field, first_activity_name=invoice_pdf.RENDER_ACTIVITY
    )
