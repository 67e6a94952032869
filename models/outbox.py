from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdMixin, TenantMixin


class OutboxMessage(IdMixin, TenantMixin, Base):
    """A side effect (start a workflow, signal one, publish a domain event) that must happen
    exactly when its business change commits. ``dedupe_key`` makes dispatch idempotent."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index(
            "ix_outbox_pending",
            "created_at",
            postgresql_where=text("dispatched_at IS NULL"),
        ),
    )

    # One of services.outbox.kinds.MessageKind
    kind: Mapped[str] = mapped_column(String(30))
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    # The time of the insert, not of the transaction: messages of one transaction are
    # dispatched in the order they were written.
    created_at: Mapped[datetime] = mapped_column(server_default=func.clock_timestamp())
    dispatched_at: Mapped[datetime | None]
