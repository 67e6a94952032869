"""Stripe's inbound events, each stored once before the 2xx and processed afterwards."""

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, CheckConstraint, Index, String, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdMixin, TenantMixin, TimestampMixin, varchar_enum


class StripeEventStatus(enum.StrEnum):
    pending = "pending"
    # Arrived before the payment it refers to; applied when that payment is recorded.
    waiting = "waiting"
    processed = "processed"
    ignored = "ignored"
    failed = "failed"


class StripeEvent(IdMixin, TenantMixin, TimestampMixin, Base):
    """Each Stripe event once (unique per firm on Stripe's event id), stored before the 2xx
    and processed afterwards through the outbox."""

    __tablename__ = "stripe_events"
    __table_args__ = (
        UniqueConstraint("firm_id", "event_id"),
        CheckConstraint(
            "status IN ('pending', 'waiting', 'processed', 'ignored', 'failed')",
            name="status_known",
        ),
        Index(
            "ix_stripe_events_pending",
            "firm_id",
            "created_at",
            postgresql_where=text("status = 'pending'"),
        ),
        # The events waiting for one payment, found when that payment is recorded.
        Index(
            "ix_stripe_events_waiting",
            "firm_id",
            "waits_for",
            postgresql_where=text("status = 'waiting'"),
        ),
    )

    event_id: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(100))
    # Stripe's "created" (epoch seconds): orders events of one object.
    stripe_created: Mapped[int] = mapped_column(BigInteger)
    livemode: Mapped[bool] = mapped_column(Boolean, default=False)
    # The validated fields firmflow uses, not Stripe's whole object.
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[StripeEventStatus] = mapped_column(
        varchar_enum(StripeEventStatus, 10), default=StripeEventStatus.pending
    )
    processed_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(500))
    # The payment intent a waiting event needs recorded first.
    waits_for: Mapped[str | None] = mapped_column(String(255))
