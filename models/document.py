"""Documents: a firm's files, kept as immutable versions of content-addressed blobs.

A ``Document`` is the thing people name, file and review (a title, a type, tags, a folder,
optionally a client); each upload adds a ``DocumentVersion`` that points at a
``DocumentBlob``, the bytes as the storage provider holds them under their SHA-256. Two
versions with the same bytes share one blob, which is deleted only when no version
references it. Retention policies, legal holds and the record of every deletion the
retention sweep made live in ``models.document_retention``.
"""

import enum
import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdMixin, TenantMixin, TimestampMixin


class DocumentStatus(enum.StrEnum):
    """The review lifecycle of a document's current version."""

    draft = "draft"
    in_review = "in_review"
    approved = "approved"
    published = "published"


class TextStatus(enum.StrEnum):
    """Where the text extraction of a version stands."""

    # Queued: the extraction activity has not run yet.
    pending = "pending"
    extracted = "extracted"
    # A PDF of images only (scans): there is nothing to extract without OCR.
    no_text = "no_text"
    # A type firmflow does not extract from (images, spreadsheets).
    unsupported = "unsupported"
    # The file could not be read (damaged, encrypted).
    failed = "failed"


class DocumentBlob(IdMixin, TenantMixin, Base):
    """Bytes as stored, once per firm and SHA-256. Per firm, not global: a shared blob would
    tell one firm that another holds a file with the same bytes."""

    __tablename__ = "document_blobs"
    __table_args__ = (
        UniqueConstraint("firm_id", "sha256"),
        CheckConstraint("size >= 0", name="size_not_negative"),
    )

    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    # Detected from the bytes (content sniffing), never from the name or the client.
    content_type: Mapped[str] = mapped_column(String(127))
    # Where the storage provider keeps the bytes.
    storage_key: Mapped[str] = mapped_column(String(512))
    created_at: Mapped[datetime] = mapped_column(server_default=text("clock_timestamp()"))


class DocumentFolder(IdMixin, TenantMixin, TimestampMixin, Base):
    __tablename__ = "document_folders"
    __table_args__ = (
        # Sibling folders have different names (a client's root folders are siblings).
        Index(
            "uq_document_folders_firm_id_parent_id_client_id_name",
            "firm_id",
            "parent_id",
            "client_id",
            "name",
            unique=True,
            postgresql_nulls_not_distinct=True,
        ),
    )

    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("document_folders.id", ondelete="CASCADE")
    )
    client_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("clients.id"))


class Document(IdMixin, TenantMixin, TimestampMixin, Base):
    __tablename__ = "documents"
    __table_args__ = (
        CheckConstraint(
            "status IN ('draft', 'in_review', 'approved', 'published')", name="status_known"
        ),
        CheckConstraint("review_quorum >= 1", name="review_quorum_positive"),
        # Lists newest first: the firm's, a client's, a folder's, by status and by type.
        Index("ix_documents_firm_id_created_at_id", "firm_id", "created_at", "id"),
        Index(
            "ix_documents_firm_id_client_id_created_at_id",
            "firm_id",
            "client_id",
            "created_at",
            "id",
        ),
        Index(
            "ix_documents_firm_id_folder_id_created_at_id",
            "firm_id",
            "folder_id",
            "created_at",
            "id",
        ),
        Index("ix_documents_firm_id_status_created_at_id", "firm_id", "status", "created_at", "id"),
        Index(
            "ix_documents_firm_id_document_type_created_at_id",
            "firm_id",
            "document_type",
            "created_at",
            "id",
        ),
        Index("ix_documents_tags", "tags", postgresql_using="gin"),
        # The bin: soft-deleted documents, and what the retention sweep purges.
        Index(
            "ix_documents_firm_id_deleted_at",
            "firm_id",
            "deleted_at",
            postgresql_where=text("deleted_at IS NOT NULL"),
        ),
    )

    title: Mapped[str] = mapped_column(String(300))
    # A firm's own code ("tax_return", "engagement_letter"); retention policies key on it.
    document_type: Mapped[str] = mapped_column(String(64), default="general")
    tags: Mapped[list[str]] = mapped_column(
        ARRAY(String(50)), default=list, server_default=text("'{}'")
    )
    # Clients are archived, never deleted.
    client_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("clients.id"))
    folder_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("document_folders.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(String(12), default=DocumentStatus.draft.value)
    # The newest version; null only between the document's row and its first version's.
    current_version_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("document_versions.id", use_alter=True, ondelete="SET NULL")
    )
    # Who answers for the document: a review escalates to them after its deadline.
    owner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Who reviews it: users named here or anyone of these roles; review_quorum approvals
    # approve, one rejection sends it back to draft.
    reviewer_roles: Mapped[list[str]] = mapped_column(
        ARRAY(String(20)), default=list, server_default=text("'{}'")
    )
    reviewer_user_ids: Mapped[list[uuid.UUID]] = mapped_column(
        ARRAY(Uuid()),
        default=list,
        server_default=text("'{}'"),
    )
    review_quorum: Mapped[int] = mapped_column(default=1, server_default=text("1"))
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    # Soft delete: restorable until the retention sweep purges it 30 days later.
    deleted_at: Mapped[datetime | None]
    deleted_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )


class DocumentVersion(IdMixin, TenantMixin, Base):
    """One upload, never changed afterwards (its text and search vector aside, which the
    extraction activity fills in)."""

    __tablename__ = "document_versions"
    __table_args__ = (
        UniqueConstraint("document_id", "number"),
        CheckConstraint("number >= 1", name="number_positive"),
        CheckConstraint(
            "text_status IN ('pending', 'extracted', 'no_text', 'unsupported', 'failed')",
            name="text_status_known",
        ),
        Index("ix_document_versions_firm_id_blob_id", "firm_id", "blob_id"),
        # Firm first (btree_gin): a search reads its own firm's matches only. Searches
        # read through the firm_document_search view (migration 0020), under which the
        # planner may use this index despite row-level security.
        Index("ix_document_versions_firm_id_search", "firm_id", "search", postgresql_using="gin"),
    )

    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    number: Mapped[int]
    blob_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("document_blobs.id"))
    # As the uploader named it; only ever shown and sent in Content-Disposition, escaped.
    file_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(127))
    uploaded_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    note: Mapped[str | None] = mapped_column(Text)
    # The version this one restored, when it was made by restoring an older one.
    restored_from_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("document_versions.id", ondelete="SET NULL")
    )
    text_status: Mapped[str] = mapped_column(String(12), default=TextStatus.pending.value)
    body_text: Mapped[str | None] = mapped_column(Text)
    # The firm's text-search configuration ('english', 'german', 'simple' …) when indexed.
    search_config: Mapped[str] = mapped_column(
        String(64), default="simple", server_default=text("'simple'")
    )
    # Title (A) > tags (B) > body (C), written by services.documents.text.index_version when
    # the version is made, when its text is extracted and when the document is renamed.
    search: Mapped[str | None] = mapped_column(TSVECTOR)
    created_at: Mapped[datetime] = mapped_column(server_default=text("clock_timestamp()"))


__all__ = [
    "Document",
    "DocumentBlob",
    "DocumentFolder",
    "DocumentStatus",
    "DocumentVersion",
    "TextStatus",
]
