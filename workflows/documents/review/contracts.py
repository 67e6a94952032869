"""What the rest of firmflow needs to know of ``DocumentReviewWorkflow``: its name, id,
input and result, the ``decided`` and ``reviewers_changed`` signals, the ``progress``
query, and its activities with their models. Services start and signal it through the
outbox; the API queries it."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from core.search_attributes import SA_DOCUMENT, ProcessInput, StartAttributes

WORKFLOW_NAME = "DocumentReviewWorkflow"
PROCESS = "document-review"

OPEN_ACTIVITY = "documents.review.open"
PLAN_ACTIVITY = "documents.review.plan"
REMIND_ACTIVITY = "documents.review.remind"
ESCALATE_ACTIVITY = "documents.review.escalate"
PUBLISH_ACTIVITY = "documents.review.publish"

# The review's approval was decided (approved, rejected) or closed (withdrawn): plan again.
DECIDED_SIGNAL = "decided"
# A user who may be a reviewer was deactivated or changed role: the quorum may be lost.
REVIEWERS_CHANGED_SIGNAL = "reviewers_changed"
PROGRESS_QUERY = "progress"

# Reminders go to those who have not voted this many business days after the review
# opened, and again every as many after that.
REMIND_EVERY_BUSINESS_DAYS = 2

Escalation = Literal["deadline", "quorum"]


def workflow_id(version_id: uuid.UUID, review_round: int = 1) -> str:
    """``document-review-<version id>`` for a version's first review, with ``-<round>``
    after it for a version submitted again (each review is its own process)."""
    suffix = "" if review_round == 1 else f"-{review_round}"
    return f"document-review-{version_id}{suffix}"


class ReviewInput(ProcessInput):
    firm_id: uuid.UUID
    document_id: uuid.UUID
    version_id: uuid.UUID
    approval_id: uuid.UUID
    deadline_days: int
    auto_publish: bool
    # The moment the schedule counts from (workflow time), carried across continue-as-new
    # with what was done, so a new run neither reminds nor escalates twice.
    started_at: datetime | None = None
    reminders_sent: int = 0
    escalated: list[Escalation] = []

    def search_attributes(self) -> StartAttributes:
        return StartAttributes(PROCESS, self.firm_id, {SA_DOCUMENT: str(self.document_id)})


class ReviewDecided(BaseModel):
    approval_id: uuid.UUID
    status: str


class OpenInput(BaseModel):
    firm_id: uuid.UUID
    approval_id: uuid.UUID
    started_at: datetime
    deadline_days: int


class Opened(BaseModel):
    deadline_at: datetime
    notified: int


class PlanInput(BaseModel):
    firm_id: uuid.UUID
    approval_id: uuid.UUID
    started_at: datetime
    reminders_sent: int
    # workflow.now(): reminders whose time passed while none could be sent are skipped.
    now: datetime | None = None


class ReviewPlan(BaseModel):
    # The approval's status: anything but "pending" ends the review.
    status: str
    deadline_at: datetime
    # When the next reminder is due (inside the firm's business hours) and its number
    # (past reminders_sent + 1 when earlier ones fell due together: only the last is sent).
    next_reminder_at: datetime
    reminder: int = 0
    # The active reviewers who have not voted, with the approvals so far, fall short of
    # the quorum.
    quorum_unreachable: bool = False


class RemindInput(BaseModel):
    firm_id: uuid.UUID
    approval_id: uuid.UUID
    # 1 for the first reminder; part of each email's message id.
    reminder: int
    at: datetime


class EscalateInput(BaseModel):
    firm_id: uuid.UUID
    approval_id: uuid.UUID
    cause: Escalation
    at: datetime


class Notified(BaseModel):
    notified: int


class PublishInput(BaseModel):
    firm_id: uuid.UUID
    approval_id: uuid.UUID


class PublishOutcome(BaseModel):
    # False when the document moved on (a new version, withdrawn, published by hand).
    published: bool


class ReviewProgress(BaseModel):
    status: str
    started_at: datetime | None
    deadline_at: datetime | None
    next_reminder_at: datetime | None
    reminders_sent: int
    escalated: list[Escalation]


class ReviewResult(BaseModel):
    status: str
    published: bool
    reminders_sent: int
    escalated: list[Escalation]
