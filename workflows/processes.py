"""Every workflow firmflow starts, by its type name: its ``FirmflowProcess`` name and the
input it starts with (which names the rest of its search attributes).

The registry's test holds this table and workflows/registry.py to the same workflows, so a
workflow cannot be registered without a process name. The outbox reads it for the start
messages written before messages carried their search attributes.
"""

from dataclasses import dataclass

from core.search_attributes import ProcessInput
from workflows.automation.debounce import contracts as debounce
from workflows.automation.run import contracts as run
from workflows.automation.run.foreach import contracts as foreach
from workflows.automation.schedule import contracts as schedule
from workflows.billing.dunning import contracts as dunning
from workflows.billing.invoice_pdf import contracts as invoice_pdf
from workflows.billing.payment_retry import contracts as payment_retry
from workflows.billing.recurring import contracts as recurring
from workflows.billing.stripe_event import contracts as stripe_event
from workflows.clients.client_import import contracts as client_import
from workflows.documents.retention import contracts as retention
from workflows.documents.review import contracts as document_review
from workflows.documents.text import contracts as document_text
from workflows.esignature.envelope import contracts as envelope
from workflows.outbox.relay import contracts as outbox_relay


@dataclass(frozen=True)
class Process:
    name: str
    input: type[ProcessInput]


PROCESSES: dict[str, Process] = {
    run.WORKFLOW_NAME: Process(run.PROCESS, run.RunInput),
    foreach.WORKFLOW_NAME: Process(foreach.PROCESS, foreach.ForeachInput),
    schedule.WORKFLOW_NAME: Process(schedule.PROCESS, schedule.ScheduleFire),
    debounce.WORKFLOW_NAME: Process(debounce.PROCESS, debounce.DebounceInput),
    client_import.WORKFLOW_NAME: Process(client_import.PROCESS, client_import.ClientImportInput),
    dunning.WORKFLOW_NAME: Process(dunning.PROCESS, dunning.DunningInput),
    invoice_pdf.WORKFLOW_NAME: Process(invoice_pdf.PROCESS, invoice_pdf.InvoicePdfInput),
    payment_retry.WORKFLOW_NAME: Process(payment_retry.PROCESS, payment_retry.PaymentRetryInput),
    recurring.WORKFLOW_NAME: Process(recurring.PROCESS, recurring.RecurringInput),
    stripe_event.WORKFLOW_NAME: Process(stripe_event.PROCESS, stripe_event.StripeEventInput),
    document_text.WORKFLOW_NAME: Process(document_text.PROCESS, document_text.DocumentTextInput),
    outbox_relay.WORKFLOW_NAME: Process(outbox_relay.PROCESS, outbox_relay.OutboxRelayInput),
    retention.WORKFLOW_NAME: Process(retention.PROCESS, retention.RetentionSweepInput),
    document_review.WORKFLOW_NAME: Process(document_review.PROCESS, document_review.ReviewInput),
    envelope.WORKFLOW_NAME: Process(envelope.PROCESS, envelope.EnvelopeInput),
}
