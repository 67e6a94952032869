"""What the rest of billing needs to know of ``DunningWorkflow``: its name, id, input and
result, the names of its signals and query, and its activities with their models. Kept
apart from the workflow so services can start and signal it (through the outbox) and the
API can query it without importing workflow code."""

import enum
import uuid
from datetime import datetime

from pydantic import BaseModel

from core.search_attributes import SA_INVOICE, ProcessInput, StartAttributes

WORKFLOW_NAME = "DunningWorkflow"
PROCESS = "dunning"

# Signals. A payment recorded: re-read the invoice now (it may be paid).
PAYMENT_RECEIVED_SIGNAL = "payment_received"
# Pause or resume for this invoice, or for every invoice of its client.
PAUSE_CHANGED_SIGNAL = "pause_changed"
# The firm's dunning policy changed: re-plan the remaining steps.
POLICY_CHANGED_SIGNAL = "policy_changed"
# Query: the next step and when it is due.
NEXT_STEP_QUERY = "next_step"


class DunningInput(ProcessInput):
    firm_id: uuid.UUID
    invoice_id: uuid.UUID
    # Carried across continue-as-new: the steps already sent or skipped.
    handled: list[str] = []
    # Loop turns (plan, wait, send) before a run continues as new even when the server has
    # not suggested it yet, so a history stays small whatever the endless interval.
    turns_per_run: int = 200

    def search_attributes(self) -> StartAttributes:
        return StartAttributes(PROCESS, self.firm_id, {SA_INVOICE: str(self.invoice_id)})


def workflow_id(invoice_id: uuid.UUID) -> str:
    return f"dunning-{invoice_id}"


PLAN_ACTIVITY = "dunning.plan"
SEND_ACTIVITY = "dunning.send_step"


class DunningState(enum.StrEnum):
    # A step is planned (``next``).
    scheduled = "scheduled"
    # Paused (invoice or client) or the firm's policy is disabled: waiting for a signal.
    waiting = "waiting"
    # Every step is done and no endless reminders follow.
    done = "done"
    # Paid, void, uncollectible, nothing owed or gone: the workflow ends.
    closed = "closed"


class SendOutcome(enum.StrEnum):
    sent = "sent"
    escalated = "escalated"
    # Decided against under the row lock (paid, nothing owed, no recipient) or superseded.
    skipped = "skipped"
    # The row existed: a retried activity, nothing done twice.
    already = "already"
    # Something changed since the plan (paused, the step left the policy): plan again.
    replan = "replan"


class PlannedStep(BaseModel):
    key: str
    kind: str
    # When it is due (UTC) and the same moment in the firm's time zone, ISO 8601.
    at: datetime
    local_at: str
    # The late fee applies (once) at the first email at or after the policy's fee step.
    late_fee: bool = False


class PlanInput(BaseModel):
    firm_id: uuid.UUID
    invoice_id: uuid.UUID
    handled: list[str]
    # workflow.now(): the plan is a function of the workflow's clock, never the worker's.
    now: datetime


class Plan(BaseModel):
    state: DunningState
    reason: str = ""
    policy_version: int = 0
    next: PlannedStep | None = None
    # Steps whose time passed while dunning could not send (paused, started late): recorded
    # as skipped when ``next`` is sent, never sent.
    superseded: list[str] = []


class SendInput(BaseModel):
    firm_id: uuid.UUID
    invoice_id: uuid.UUID
    step: PlannedStep
    superseded: list[str] = []
    now: datetime


class SendResult(BaseModel):
    outcome: SendOutcome
    # The invoice was found closed under the lock: the workflow ends.
    closed: bool = False


class NextStep(BaseModel):
    """The ``next_step`` query's answer."""

    state: DunningState
    reason: str = ""
    step_key: str | None = None
    at: datetime | None = None
    local_at: str | None = None
    paused: bool = False
    handled: list[str] = []
    # The policy version the step was planned with.
    policy_version: int = 0


class DunningResult(BaseModel):
    state: DunningState
    reason: str
    handled: list[str]
