"""Every workflow firmflow starts, by its type name: its ``FirmflowProcess`` name and the
input it starts with (which names the rest of its search attributes).

The registry's test holds this table and workflows/registry.py to the same workflows, so a
workflow cannot be registered without a process name. The outbox reads it for the start
messages written before messages carried their search attributes.
"""

from dataclasses import dataclass

from core.search_attributes import ProcessInput
from workflows import client_import, outbox_relay
from workflows.automation import contracts as run
from workflows.automation import debounce, foreach_contracts, scheduled
from workflows.billing import dunning_contracts, payment_retry, recurring, stripe_event


@dataclass(frozen=True)
class Process:
    name: str
    input: type[ProcessInput]


PROCESSES: dict[str, Process] = {
    run.WORKFLOW_NAME: Process(run.PROCESS, run.RunInput),
    foreach_contracts.FOREACH_WORKFLOW: Process(
        foreach_contracts.FOREACH_PROCESS, foreach_contracts.ForeachInput
    ),
    scheduled.SCHEDULED_WORKFLOW: Process(scheduled.SCHEDULED_PROCESS, scheduled.ScheduleFire),
    debounce.DEBOUNCE_WORKFLOW: Process(debounce.DEBOUNCE_PROCESS, debounce.DebounceInput),
    client_import.WORKFLOW_NAME: Process(client_import.PROCESS, client_import.ClientImportInput),
    dunning_contracts.DUNNING_WORKFLOW: Process(
        dunning_contracts.DUNNING_PROCESS, dunning_contracts.DunningInput
    ),
    payment_retry.PAYMENT_RETRY_WORKFLOW: Process(
        payment_retry.PAYMENT_RETRY_PROCESS, payment_retry.PaymentRetryInput
    ),
    recurring.WORKFLOW_NAME: Process(recurring.PROCESS, recurring.RecurringInput),
    stripe_event.STRIPE_EVENT_WORKFLOW: Process(
        stripe_event.STRIPE_EVENT_PROCESS, stripe_event.StripeEventInput
    ),
    outbox_relay.WORKFLOW_NAME: Process(outbox_relay.PROCESS, outbox_relay.OutboxRelayInput),
}
