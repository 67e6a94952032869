"""What the rest of billing needs to know of ``StripeEventWorkflow``: its name, id, input
and result, and its activity."""

import uuid

from pydantic import BaseModel

from core.search_attributes import SA_STRIPE_EVENT, ProcessInput, StartAttributes

WORKFLOW_NAME = "StripeEventWorkflow"
PROCESS = "stripe-event"
APPLY_ACTIVITY = "billing.apply_stripe_event"
# The ApplicationError type of an event that can never apply (recorded as failed).
EVENT_REJECTED = "StripeEventRejected"


def workflow_id(firm_id: uuid.UUID, event_id: str) -> str:
    return f"stripe-event-{firm_id}-{event_id}"


class StripeEventInput(ProcessInput):
    firm_id: uuid.UUID
    event_id: str

    def search_attributes(self) -> StartAttributes:
        return StartAttributes(PROCESS, self.firm_id, {SA_STRIPE_EVENT: self.event_id})


class StripeEventResult(BaseModel):
    status: str
    outcome: str | None
