"""What the rest of billing needs to know of ``DunningWorkflow``: its id, its input and the
names of its signals. Kept apart from the workflow so services can start and signal it
(through the outbox) without importing workflow code."""

import uuid

from pydantic import BaseModel

DUNNING_WORKFLOW = "DunningWorkflow"

# Signals. A payment recorded: re-read the invoice now (it may be paid).
SIGNAL_PAYMENT_RECEIVED = "payment_received"
# Pause or resume for this invoice, or for every invoice of its client.
SIGNAL_PAUSE_CHANGED = "pause_changed"
# The firm's dunning policy changed: re-plan the remaining steps.
SIGNAL_POLICY_CHANGED = "policy_changed"
# Query: the next step and when it is due.
QUERY_NEXT_STEP = "next_step"


class DunningInput(BaseModel):
    firm_id: uuid.UUID
    invoice_id: uuid.UUID


def dunning_workflow_id(invoice_id: uuid.UUID) -> str:
    return f"dunning-{invoice_id}"
