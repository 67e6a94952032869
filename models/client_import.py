import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Enum, ForeignKey, Index, LargeBinary, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, deferred, mapped_column

from models.base import Base, IdMixin, TenantMixin, TimestampMixin


class ImportStatus(enum.StrEnum):
    pending = "pending"
    running = "running"
    completed = "completed"
    failed = "failed"


class RowOutcome(enum.StrEnum):
    pending = "pending"
    created = "created"
    skipped = "skipped"
    invalid = "invalid"


class ClientImport(IdMixin, TenantMixin, TimestampMixin, Base):
    __tablename__ = "client_imports"
    __table_args__ = (
        Index("ix_client_imports_firm_id_created_at_id", "firm_id", "created_at", "id"),
    )

    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    filename: Mapped[str] = mapped_column(String(255))
    status: Mapped[ImportStatus] = mapped_column(
        Enum(ImportStatus, name="import_status"), default=ImportStatus.pending
    )
    # The uploaded bytes, kept until the rows are staged; large, so never loaded by default.
    source: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    unknown_columns: Mapped[list[str]] = mapped_column(JSONB, default=list)
    total_rows: Mapped[int] = mapped_column(default=0)
    failure_reason: Mapped[str | None] = mapped_column(String(500))
    finished_at: Mapped[datetime | None]


class ClientImportRow(TenantMixin, Base):
    """One data row of an import. Its outcome is written in the same transaction as the
    client it creates, which is what makes a retried batch idempotent."""

    __tablename__ = "client_import_rows"
    __table_args__ = (
        Index(
            "ix_client_import_rows_firm_id_import_outcome",
            "firm_id",
            "import_id",
            "outcome",
            "line",
        ),
    )

    import_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("client_imports.id", ondelete="CASCADE"), primary_key=True
    )
    line: Mapped[int] = mapped_column(primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    outcome: Mapped[RowOutcome] = mapped_column(
        Enum(RowOutcome, name="import_row_outcome"), default=RowOutcome.pending
    )
    reason: Mapped[str | None] = mapped_column(String(500))
    client_id: Mapped[uuid.UUID | None]
    processed_at: Mapped[datetime | None]
