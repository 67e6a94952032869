"""The domain events an automation can be triggered by or wait for: one place, listed in
docs/automations.md. Pure data (imported by the services that emit, validate and deliver
events).

Every event travels through the outbox (services.outbox.writer.event) as
``{"event": name, **data}``; its correlation key, which ``wait_for_event`` steps match
against, is the value of ``key_field`` in that data. Events whose first segment is not one
of ``RESERVED`` are custom events: any automation may emit them with ``emit_event`` and
trigger on them, and their key is the ``key`` the emitting step gives.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class EventType:
    name: str
    description: str
    # The field of the event's data that is its correlation key.
    key_field: str


CATALOGUE: dict[str, EventType] = {
    e.name: e
    for e in (
        EventType("client.created", "A client was created (by hand or by an import).", "client_id"),
        EventType("client.updated", "A client's fields were changed.", "client_id"),
        EventType("task.created", "A staff task was created.", "task_id"),
        EventType("task.completed", "A staff task was marked done.", "task_id"),
        EventType("invoice.finalized", "An invoice got its number and became open.", "invoice_id"),
        EventType("invoice.sent", "An invoice was sent to its client.", "invoice_id"),
        EventType("invoice.paid", "An invoice was paid in full.", "invoice_id"),
        EventType("invoice.voided", "An invoice was voided.", "invoice_id"),
        EventType("invoice.uncollectible", "An invoice was written off.", "invoice_id"),
        EventType("invoice.disputed", "A payment of the invoice was disputed.", "invoice_id"),
        EventType("invoice.in_collections", "An invoice was sent to collections.", "invoice_id"),
        EventType(
            "invoice.dunning_sent",
            "A dunning reminder (or the final notice) was emailed to the client.",
            "invoice_id",
        ),
        EventType(
            "invoice.dunning_skipped",
            "A dunning step was skipped: the client has no email address.",
            "invoice_id",
        ),
        EventType(
            "invoice.dunning_escalated",
            "Dunning escalated the invoice: a staff task, and the invoice in collections.",
            "invoice_id",
        ),
        EventType("payment.received", "A payment was recorded.", "invoice_id"),
        EventType("payment.failed", "A card payment attempt failed.", "invoice_id"),
        EventType("payment.refunded", "A payment was refunded, in part or in full.", "invoice_id"),
        EventType("credit_note.issued", "A credit note was issued to a client.", "client_id"),
        EventType(
            "document.created", "A document was created with its first version.", "document_id"
        ),
        EventType(
            "document.version_added",
            "A new version of a document was uploaded or an older one restored.",
            "document_id",
        ),
        EventType(
            "document.published",
            "A document's approved version was published (by hand or on its review's approval).",
            "document_id",
        ),
        EventType("envelope.sent", "An envelope was sent for signature.", "envelope_id"),
        EventType("envelope.voided", "An envelope out for signature was voided.", "envelope_id"),
        EventType(
            "envelope.completed",
            "Every signer and approver signed an envelope; its signed documents are stored.",
            "envelope_id",
        ),
        EventType("envelope.declined", "A recipient declined to sign an envelope.", "envelope_id"),
        EventType("envelope.expired", "An envelope expired before everyone signed.", "envelope_id"),
    )
}

# Namespaces only firmflow itself emits: an emit_event step may not use them, so an
# automation cannot forge "invoice.paid".
RESERVED = frozenset(name.split(".", 1)[0] for name in CATALOGUE)
# The data field holding a custom event's correlation key.
CUSTOM_KEY_FIELD = "key"


def is_reserved(name: str) -> bool:
    return name.split(".", 1)[0] in RESERVED


def key_field(name: str) -> str:
    event_type = CATALOGUE.get(name)
    return event_type.key_field if event_type is not None else CUSTOM_KEY_FIELD


# An automation's action acts as Principal.system(firm, request_id=<its run's workflow id>)
# (services.automations.run_records.Attempt.principal); see contracts.workflow_id.
_RUN_REQUEST_PREFIX = "automation-run-"


def run_source(request_id: str | None) -> dict[str, str] | None:
    """``{"run_id": …}`` when a domain event was caused by an automation run's action, so
    the delivery starts the runs it triggers one hop deeper (a loop is cut) — else None."""
    if request_id is None or not request_id.startswith(_RUN_REQUEST_PREFIX):
        return None
    return {"run_id": request_id.removeprefix(_RUN_REQUEST_PREFIX)}
