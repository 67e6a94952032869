"""Approvals: what an approver sees and sends, whatever waits for the decision (an
automation run's step or a document's review)."""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StringConstraints

from models import Approval, ApprovalStatus, VoteDecision
from services.approvals import ApprovalView, counts
from workflows.automation.definition.params import FormField


class ApproversRead(BaseModel):
    roles: list[str]
    users: list[uuid.UUID]


class ApprovalRead(BaseModel):
    id: uuid.UUID
    # What waits for the decision: an automation run's approval step (run_id,
    # automation_id, step_id and visit) or the review of a document version
    # (document_id, document_version_id, review_round, auto_publish).
    subject: Literal["run_step", "document_review"]
    run_id: uuid.UUID | None
    automation_id: uuid.UUID | None
    step_id: str | None
    visit: int | None
    document_id: uuid.UUID | None
    document_version_id: uuid.UUID | None
    review_round: int | None
    auto_publish: bool | None
    status: ApprovalStatus
    title: str
    message: str
    approvers: ApproversRead
    # Approvals needed; one rejection rejects.
    quorum: int
    allow_initiator: bool
    # The user who started the run (who submitted the document).
    initiator_id: uuid.UUID | None
    # The fields an approver fills in (required ones only when approving).
    form: dict[str, FormField]
    expires_at: datetime | None
    decided_at: datetime | None
    # The form of the vote that approved it.
    result: dict[str, JsonValue] | None
    created_at: datetime

    @classmethod
    def of(cls, approval: Approval, document_id: uuid.UUID | None = None) -> "ApprovalRead":
        """``document_id``: the reviewed version's document, for a document review."""
        return cls(
            id=approval.id,
            subject="run_step" if approval.run_id is not None else "document_review",
            document_id=document_id,
            document_version_id=approval.document_version_id,
            review_round=approval.review_round,
            auto_publish=approval.auto_publish,
            run_id=approval.run_id,
            automation_id=approval.automation_id,
            step_id=approval.step_id,
            visit=approval.visit,
            status=approval.status,
            title=approval.title,
            message=approval.message,
            approvers=ApproversRead(
                roles=list(approval.approver_roles), users=list(approval.approver_user_ids)
            ),
            quorum=approval.quorum,
            allow_initiator=approval.allow_initiator,
            initiator_id=approval.initiator_id,
            form={name: FormField.model_validate(spec) for name, spec in approval.form.items()},
            expires_at=approval.expires_at,
            decided_at=approval.decided_at,
            result=approval.result,
            created_at=approval.created_at,
        )


class VoteRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    user_id: uuid.UUID
    decision: VoteDecision
    comment: str | None
    form: dict[str, JsonValue] | None
    created_at: datetime


class ApprovalDetail(ApprovalRead):
    """One approval with its votes so far, in the order they were cast."""

    votes: list[VoteRead]
    approvals: int
    rejections: int

    @classmethod
    def of_view(cls, view: ApprovalView, document_id: uuid.UUID | None = None) -> "ApprovalDetail":
        approve, reject = counts(view)
        return cls(
            **ApprovalRead.of(view.approval, document_id).model_dump(),
            votes=[VoteRead.model_validate(vote) for vote in view.votes],
            approvals=approve,
            rejections=reject,
        )


class ApprovalDecision(BaseModel):
    """A vote. ``form`` fills in the approval's fields: required ones must be filled in to
    approve; a rejection may leave them out."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "reject"]
    comment: Annotated[str, StringConstraints(max_length=2000)] | None = None
    form: dict[str, JsonValue] | None = Field(default=None, max_length=50)
