"""Recurring invoice templates: an invoice issued on an RRULE schedule."""

import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdMixin, TenantMixin, TimestampMixin, varchar_enum


class RecurringStatus(enum.StrEnum):
    active = "active"
    paused = "paused"
    ended = "ended"


class RecurringInvoice(IdMixin, TenantMixin, TimestampMixin, Base):
    __tablename__ = "recurring_invoices"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'paused', 'ended')", name="status_known"),
        CheckConstraint("count IS NULL OR count >= 1", name="count_positive"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_format"),
        Index("ix_recurring_invoices_firm_id_created_at_id", "firm_id", "created_at", "id"),
    )

    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id"))
    status: Mapped[RecurringStatus] = mapped_column(
        varchar_enum(RecurringStatus, 8), default=RecurringStatus.active
    )
    currency: Mapped[str] = mapped_column(String(3))
    # The invoice each occurrence gets: lines, discount, notes, payment terms (validated by
    # services.billing.recurring).
    template: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # RFC 5545 RRULE (without DTSTART), read in time_zone from the local start time.
    rrule: Mapped[str] = mapped_column(String(500))
    time_zone: Mapped[str] = mapped_column(String(64))
    # Wall-clock time in time_zone of the first occurrence (naive on purpose).
    starts_at_local: Mapped[datetime] = mapped_column(DateTime(timezone=False))
    ends_on: Mapped[date | None]
    count: Mapped[int | None] = mapped_column(Integer)
    auto_send: Mapped[bool] = mapped_column(Boolean, default=False)
    last_occurrence_date: Mapped[date | None]
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
