"""Approvals: a human decision a process waits for, and the votes cast on it. The subject is
either an automation run's ``approval`` step (``run_id``) or the review of a document
version (``document_version_id``); the process is the waiting side, and these rows are what
``GET /v1/approvals`` lists and what decides, under a row lock, when the quorum is met."""

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdMixin, TenantMixin, TimestampMixin


class ApprovalStatus(enum.StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"
    # The step's timeout passed first.
    expired = "expired"
    # The run was canceled while it waited.
    canceled = "canceled"


class VoteDecision(enum.StrEnum):
    approve = "approve"
    reject = "reject"


class Approval(IdMixin, TenantMixin, TimestampMixin, Base):
    __tablename__ = "automation_approvals"
    __table_args__ = (
        # One approval per executed step: a retried open_approval finds it.
        UniqueConstraint("run_id", "step_id", "visit"),
        # Every list newest first (the "mine" list filters rows it pages through in order).
        Index("ix_automation_approvals_firm_id_created_at_id", "firm_id", "created_at", "id"),
        # "What waits for me", newest first, and every approval of a run.
        Index(
            "ix_automation_approvals_firm_id_status_created_at_id",
            "firm_id",
            "status",
            "created_at",
            "id",
        ),
        Index("ix_automation_approvals_firm_id_run_id", "firm_id", "run_id"),
        CheckConstraint("quorum >= 1", name="quorum_positive"),
        # Exactly one subject: a run's step, or a document version under review.
        CheckConstraint(
            "(run_id IS NOT NULL AND automation_id IS NOT NULL AND step_id IS NOT NULL "
            "AND visit IS NOT NULL AND document_version_id IS NULL) OR "
            "(run_id IS NULL AND automation_id IS NULL AND step_id IS NULL AND visit IS NULL "
            "AND document_version_id IS NOT NULL)",
            name="one_subject",
        ),
        # A document review's own fields, and only a document review's.
        CheckConstraint(
            "(document_version_id IS NULL) = (review_round IS NULL) "
            "AND (document_version_id IS NULL) = (auto_publish IS NULL)",
            name="review_fields",
        ),
        # One review per round of a version: two submissions cannot both take a round.
        UniqueConstraint("document_version_id", "review_round"),
        # A document version's reviews (one per submission), newest last.
        Index(
            "ix_automation_approvals_firm_id_document_version_id",
            "firm_id",
            "document_version_id",
        ),
    )

    run_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("automation_runs.id", ondelete="CASCADE")
    )
    automation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("automations.id", ondelete="CASCADE")
    )
    step_id: Mapped[str | None] = mapped_column(String(64))
    visit: Mapped[int | None]
    document_version_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("document_versions.id", ondelete="CASCADE")
    )
    # A version's reviews are numbered from 1 (a rejected version may be submitted again).
    review_round: Mapped[int | None]
    # Publish the document as soon as the review approves it.
    auto_publish: Mapped[bool | None]
    status: Mapped[ApprovalStatus] = mapped_column(
        Enum(ApprovalStatus, name="approval_status"), default=ApprovalStatus.pending
    )
    # Rendered from the step's templates when the approval opened.
    title: Mapped[str] = mapped_column(String(500))
    message: Mapped[str] = mapped_column(Text, default="")
    approver_roles: Mapped[list[str]] = mapped_column(ARRAY(String(20)), default=list)
    approver_user_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid()), default=list)
    quorum: Mapped[int]
    allow_initiator: Mapped[bool] = mapped_column(default=False)
    # The user who started the run; refused as approver unless allow_initiator.
    initiator_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    # The step's form fields (definition.FormField by name).
    form: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    expires_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    # The validated form of the deciding vote.
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class ApprovalVote(IdMixin, TenantMixin, Base):
    __tablename__ = "automation_approval_votes"
    __table_args__ = (UniqueConstraint("approval_id", "user_id"),)

    approval_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("automation_approvals.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    decision: Mapped[VoteDecision] = mapped_column(Enum(VoteDecision, name="approval_decision"))
    comment: Mapped[str | None] = mapped_column(Text)
    form: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(server_default=func.clock_timestamp())
