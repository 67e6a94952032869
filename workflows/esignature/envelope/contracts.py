"""What the rest of firmflow needs to know of ``EnvelopeWorkflow``: its name, id and input,
and the signals services send it through the outbox (a recipient viewed, signed or
declined, on the signing page or at a provider; a void; a staff "remind now"; a corrected
recipient). The database is the record of who did what: a signal only tells the workflow
to look again. Its activities and their models are declared below the signals."""

import uuid
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
