"""Approvals: what an approver sees and sends."""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StringConstraints

from models import Approval, ApprovalStatus, VoteDecision
from services.automations.approvals import ApprovalView, counts
from workflows.automation.definition.params import FormField


class ApproversRead(BaseModel):
    roles: list[str]
    users: list[uuid.UUID]


class ApprovalRead(BaseModel):
    id: uuid.UUID
    run_id: uuid.UUID
    automation_id: uuid.UUID
    step_id: str
    visit: int
    status: ApprovalStatus
    title: str
    message: str
    approvers: ApproversRead
    # Approvals needed; one rejection rejects.
    quorum: int
    allow_initiator: bool
    # The user who started the run.
    initiator_id: uuid.UUID | None
    # The fields an approver fills in (required ones only when approving).
    form: dict[str, FormField]
    expires_at: datetime | None
    decided_at: datetime | None
    # The form of the vote that approved it.
    result: dict[str, JsonValue] | None
    created_at: datetime

    @classmethod
    def of(cls, approval: Approval) -> "ApprovalRead":
        return cls(
            id=approval.id,
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
    def of_view(cls, view: ApprovalView) -> "ApprovalDetail":
        approve, reject = counts(view)
        return cls(
            **ApprovalRead.of(view.approval).model_dump(),
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
