"""Retention of documents: how long each type is kept, the legal holds that stop every
deletion, and the record of what the nightly sweep deleted (the documents are gone, the
record of their deletion stays)."""

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdMixin, TenantMixin, TimestampMixin


class RetentionTrigger(enum.StrEnum):
    """The moment a policy's period counts from."""

    # The document was created.
    created = "created"
    # The document's client was archived (documents without a client never reach it).
    client_archived = "client_archived"


class RetentionPolicy(IdMixin, TenantMixin, TimestampMixin, Base):
    """ "Tax returns: 10 years after the client is archived": the documents of one type are
    deleted ``retain_days`` after the trigger, and only once ``grace_days`` more have passed
    since the sweep first reported them."""

    __tablename__ = "document_retention_policies"
    __table_args__ = (
        UniqueConstraint("firm_id", "document_type"),
        CheckConstraint("trigger IN ('created', 'client_archived')", name="trigger_known"),
        CheckConstraint("retain_days >= 1", name="retain_days_positive"),
        CheckConstraint("grace_days >= 0", name="grace_days_not_negative"),
    )

    document_type: Mapped[str] = mapped_column(String(64))
    trigger: Mapped[str] = mapped_column(String(20), default=RetentionTrigger.created.value)
    retain_days: Mapped[int]
    grace_days: Mapped[int] = mapped_column(default=30, server_default=text("30"))
    description: Mapped[str | None] = mapped_column(Text)


class LegalHold(IdMixin, TenantMixin, TimestampMixin, Base):
    """Blocks every deletion of one document, or of every document of one client, until it
    is released (released holds stay, for the record)."""

    __tablename__ = "document_legal_holds"
    __table_args__ = (
        CheckConstraint("(document_id IS NULL) <> (client_id IS NULL)", name="one_subject"),
        Index(
            "ix_document_legal_holds_active_document",
            "firm_id",
            "document_id",
            postgresql_where=text("released_at IS NULL AND document_id IS NOT NULL"),
        ),
        Index(
            "ix_document_legal_holds_active_client",
            "firm_id",
            "client_id",
            postgresql_where=text("released_at IS NULL AND client_id IS NOT NULL"),
        ),
        Index("ix_document_legal_holds_firm_id_created_at_id", "firm_id", "created_at", "id"),
    )

    document_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE")
    )
    client_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("clients.id"))
    reason: Mapped[str] = mapped_column(Text)
    placed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    released_at: Mapped[datetime | None]
    released_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )


class RetentionCandidate(IdMixin, TenantMixin, Base):
    """A document a sweep reported as due. The grace period counts from ``reported_at``; a
    candidate no longer due (a hold placed, the policy changed) is dropped by the next
    sweep."""

    __tablename__ = "document_retention_candidates"
    __table_args__ = (UniqueConstraint("firm_id", "document_id"),)

    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    # Null for a soft-deleted document past its 30 days in the bin.
    policy_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("document_retention_policies.id", ondelete="CASCADE")
    )
    reported_at: Mapped[datetime] = mapped_column(server_default=text("clock_timestamp()"))
    delete_after: Mapped[datetime]


class DocumentDeletion(IdMixin, TenantMixin, Base):
    """What the sweep deleted, and why: the document is gone, this row is not."""

    __tablename__ = "document_deletions"
    __table_args__ = (
        Index("ix_document_deletions_firm_id_deleted_at_id", "firm_id", "deleted_at", "id"),
    )

    document_id: Mapped[uuid.UUID]
    title: Mapped[str] = mapped_column(String(300))
    document_type: Mapped[str] = mapped_column(String(64))
    client_id: Mapped[uuid.UUID | None]
    policy_id: Mapped[uuid.UUID | None]
    # "retention" (a policy's period ran out) or "bin" (30 days after a soft delete).
    reason: Mapped[str] = mapped_column(String(20))
    versions: Mapped[int]
    # The blobs deleted with it (those no other version still referenced), by SHA-256.
    blobs_deleted: Mapped[list[str]] = mapped_column(JSONB, default=list)
    # The sweep's workflow run, for the Temporal UI.
    sweep_id: Mapped[str] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    deleted_at: Mapped[datetime] = mapped_column(server_default=text("clock_timestamp()"))
