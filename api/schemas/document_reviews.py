"""Document reviews: a submission, a review with its votes and comments, a vote."""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

from api.schemas.approvals import VoteRead
from models import ApprovalStatus, Document
from services.approvals import ApprovalView, counts
from services.documents.reviews import ReviewFields


class ReviewSubmit(ReviewFields):
    """Submit the document's current version for review. Reviewers (users named, and users
    of the roles named) replace the document's own when either list is given, the quorum
    defaults to its ``review_quorum``; every reviewer must be an active user whose role
    may review, and enough of them (the submitter aside) must be able to vote to reach the
    quorum."""


class ReviewRead(BaseModel):
    id: uuid.UUID
    document_id: uuid.UUID
    version_id: uuid.UUID
    # A version's reviews are numbered from 1.
    round: int
    # pending while open; approved, rejected, or canceled (withdrawn).
    status: ApprovalStatus
    title: str
    message: str
    reviewer_roles: list[str]
    reviewer_user_ids: list[uuid.UUID]
    quorum: int
    auto_publish: bool
    submitted_by: uuid.UUID | None
    # When the review escalates to the document's owner (fixed once its process starts).
    deadline_at: datetime | None
    decided_at: datetime | None
    created_at: datetime
    # Every vote with its comment, in the order cast (a rejection's comments stay here).
    votes: list[VoteRead]
    approvals: int
    rejections: int

    @classmethod
    def of(cls, view: ApprovalView, document_id: uuid.UUID) -> "ReviewRead":
        approval = view.approval
        approve, reject = counts(view)
        assert approval.document_version_id is not None and approval.review_round is not None
        return cls(
            id=approval.id,
            document_id=document_id,
            version_id=approval.document_version_id,
            round=approval.review_round,
            status=approval.status,
            title=approval.title,
            message=approval.message,
            reviewer_roles=list(approval.approver_roles),
            reviewer_user_ids=list(approval.approver_user_ids),
            quorum=approval.quorum,
            auto_publish=bool(approval.auto_publish),
            submitted_by=approval.initiator_id,
            deadline_at=approval.expires_at,
            decided_at=approval.decided_at,
            created_at=approval.created_at,
            votes=[VoteRead.model_validate(vote) for vote in view.votes],
            approvals=approve,
            rejections=reject,
        )


class ReviewDecision(BaseModel):
    """A reviewer's vote: one rejection sends the document back to draft, ``quorum``
    approvals approve it."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "reject"]
    comment: Annotated[str, StringConstraints(max_length=2000)] | None = None


class PublishedRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    status: str
    current_version_id: uuid.UUID | None

    @classmethod
    def of(cls, document: Document) -> "PublishedRead":
        return cls.model_validate(document)
