import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdMixin, TenantMixin


class AuditEvent(IdMixin, TenantMixin, Base):
    """Append-only: the runtime role may insert and select, never update or delete."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_firm_id_created_at_id", "firm_id", "created_at", "id"),
        Index(
            "ix_audit_events_firm_id_record", "firm_id", "record_type", "record_id", "created_at"
        ),
        Index("ix_audit_events_firm_id_actor", "firm_id", "actor_id", "created_at"),
        Index("ix_audit_events_firm_id_action", "firm_id", "action", "created_at"),
    )

    # "user", "api_token" or "system"
    actor_type: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[uuid.UUID | None]
    action: Mapped[str] = mapped_column(String(100))
    record_type: Mapped[str] = mapped_column(String(50))
    record_id: Mapped[uuid.UUID | None]
    summary: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    request_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(server_default=func.clock_timestamp())
