"""What the rest of firmflow needs to know of ``EnvelopeWorkflow``: its name, id and input,
and the signals services send it through the outbox (a recipient viewed, signed or
declined, on the signing page or at a provider; a void; a staff "remind now"; a corrected
recipient; a re-send). The database is the record of who did what: a signal only tells the
workflow to look again. Its activities and their models are declared below the signals.

A re-send of an expired envelope raises ``Envelope.send_round`` and enqueues
``outbox.signal_with_start(WORKFLOW_NAME, workflow_id(id), EnvelopeInput(send_round=n),
signal=RESENT_SIGNAL, signal_arg=Resent(send_round=n), dedupe_key=resend_key(id, n))``: the
outbox's plain start refuses an id whose run has closed (``REJECT_DUPLICATE``), a
signal-with-start begins a new run under it, or tells a run still finishing the expiry to
continue as new in the new round."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from core.search_attributes import SA_ENVELOPE, ProcessInput, StartAttributes

WORKFLOW_NAME = "EnvelopeWorkflow"
PROCESS = "envelope"

# A recipient's state changed (viewed, signed, declined): arg RecipientChanged.
RECIPIENT_SIGNAL = "recipient_changed"
# The envelope was voided by staff: arg Voided.
VOID_SIGNAL = "voided"
# Staff asked for a reminder now: arg RemindNow.
REMIND_SIGNAL = "remind_now"
# A recipient's name or email was corrected before they signed: arg RecipientChanged
# (with change "corrected"); the workflow sends the new address its link.
CORRECTED_SIGNAL = "recipient_corrected"
# An expired envelope was sent again: arg Resent (see the module's docstring).
RESENT_SIGNAL = "resent"

PLAN_ACTIVITY = "esignature.envelope.plan"
PROVIDER_SEND_ACTIVITY = "esignature.envelope.send_to_provider"
DELIVER_ACTIVITY = "esignature.envelope.deliver"
REMIND_ACTIVITY = "esignature.envelope.remind"
WARN_ACTIVITY = "esignature.envelope.warn_expiry"
EXPIRE_ACTIVITY = "esignature.envelope.expire"
DECLINE_ACTIVITY = "esignature.envelope.decline"
VOID_ACTIVITY = "esignature.envelope.void"
SEAL_ACTIVITY = "esignature.envelope.seal"
COMPLETE_ACTIVITY = "esignature.envelope.complete"
COPIES_ACTIVITY = "esignature.envelope.send_copies"

# The defaults of a new envelope (DocuSign's expiry ceiling is 120 days).
DEFAULT_EXPIRY_DAYS = 30
MAX_EXPIRY_DAYS = 120
DEFAULT_REMINDER_FIRST_DAYS = 2
DEFAULT_REMINDER_EVERY_DAYS = 3
DEFAULT_REMINDER_MAX = 5
# The sender is warned this many days before the envelope expires.
EXPIRY_WARNING_DAYS = 3


def workflow_id(envelope_id: uuid.UUID) -> str:
    """``envelope-<id>``: one process per envelope at a time; a re-send of an expired
    envelope starts a new run under the same id (the earlier one has ended)."""
    return f"envelope-{envelope_id}"


def resend_key(envelope_id: uuid.UUID, send_round: int) -> str:
    """The outbox dedupe key of the signal-with-start that carries re-send ``send_round``."""
    return f"envelope-resent:{envelope_id}:{send_round}"


class EnvelopeInput(ProcessInput):
    firm_id: uuid.UUID
    envelope_id: uuid.UUID
    # Envelope.send_round: 1 for the first send, +1 per re-send.
    send_round: int

    def search_attributes(self) -> StartAttributes:
        return StartAttributes(PROCESS, self.firm_id, {SA_ENVELOPE: str(self.envelope_id)})


RecipientChange = Literal["viewed", "signed", "declined", "corrected"]


class RecipientChanged(BaseModel):
    recipient_id: uuid.UUID
    change: RecipientChange


class Voided(BaseModel):
    reason: str


class RemindNow(BaseModel):
    # Who asked (a user id), for the audit trail.
    requested_by: uuid.UUID | None = None


class Resent(BaseModel):
    send_round: int


# The activities' models. Every step names the round it acts for and the workflow's time
# (``at``): reminders are scheduled on it, and a step of an older round does nothing.


class StepInput(BaseModel):
    firm_id: uuid.UUID
    envelope_id: uuid.UUID
    send_round: int
    at: datetime


class RemindInput(StepInput):
    # A staff "remind now": every recipient still to act, whether due or not.
    manual: bool = False
    requested_by: uuid.UUID | None = None


# What the plan found: "open" (waiting for recipients), "signed" (every signer and approver
# has: complete it), "declined", "voided", "closed" (completed or expired already, or a
# draft), "resent" (the envelope is in a later round than this run).
EnvelopeState = Literal["open", "signed", "declined", "voided", "closed", "resent"]


class EnvelopePlan(BaseModel):
    state: EnvelopeState
    # The envelope's status as read (sent, completed, expired, ...).
    status: str
    provider: str
    send_round: int
    expires_at: datetime | None = None
    # When the sender is warned of the expiry; None once warned (or too short to warn).
    warning_at: datetime | None = None
    # The earliest moment a recipient's reminder is due, inside the firm's business hours
    # (built-in provider only; None when no reminder is left to send).
    next_reminder_at: datetime | None = None
    # Recipients of the group whose turn it is who have no link of this round yet.
    undelivered: int = 0


class StepOutcome(BaseModel):
    # False when the state had moved on and the step did nothing.
    done: bool
    emails: int = 0


class EnvelopeResult(BaseModel):
    status: str
    send_round: int
