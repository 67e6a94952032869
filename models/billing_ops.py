"""The durable side of billing: Stripe's inbound events and signing secrets, the dunning
policy and the reminders it sent, and recurring invoice templates."""

import enum
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdMixin, TenantMixin, TimestampMixin


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
    status: Mapped[str] = mapped_column(String(10), default=StripeEventStatus.pending.value)
    processed_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(500))
    # The payment intent a waiting event needs recorded first.
    waits_for: Mapped[str | None] = mapped_column(String(255))


class StripeWebhookSecret(IdMixin, TenantMixin, TimestampMixin, Base):
    """A firm may have several signing secrets at once while it rotates its endpoint's."""

    __tablename__ = "stripe_webhook_secrets"

    secret_encrypted: Mapped[str] = mapped_column(Text)
    # The last characters, so people can tell secrets apart without seeing them.
    hint: Mapped[str] = mapped_column(String(8))
    expires_at: Mapped[datetime | None]


class DunningPolicy(IdMixin, TenantMixin, TimestampMixin, Base):
    """One per firm, created from the shipped default the first time it is read. ``steps``
    is the validated list services.billing.dunning_policy defines; ``version`` grows with
    each change so running dunning workflows can tell they must re-plan."""

    __tablename__ = "dunning_policies"
    __table_args__ = (
        UniqueConstraint("firm_id"),
        CheckConstraint("late_fee_fixed >= 0", name="late_fee_fixed_not_negative"),
        CheckConstraint(
            "late_fee_percent >= 0 AND late_fee_percent <= 100", name="late_fee_percent_range"
        ),
        CheckConstraint(
            "endless_every_days IS NULL OR endless_every_days >= 1", name="endless_positive"
        ),
    )

    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    late_fee_fixed: Mapped[int] = mapped_column(BigInteger, default=0)
    late_fee_percent: Mapped[Decimal] = mapped_column(Numeric(7, 4), default=Decimal(0))
    # The key of the step at which the late fee is applied (once); null: no late fee.
    late_fee_step: Mapped[str | None] = mapped_column(String(40))
    endless_every_days: Mapped[int | None] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, default=1)


class DunningReminder(IdMixin, TenantMixin, Base):
    """A reminder sent (or decided against) for one step of one invoice: the unique key
    makes a retried send activity a no-op."""

    __tablename__ = "dunning_reminders"
    __table_args__ = (
        UniqueConstraint("invoice_id", "step_key"),
        Index("ix_dunning_reminders_firm_id_invoice_id", "firm_id", "invoice_id"),
    )

    invoice_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("invoices.id", ondelete="CASCADE"))
    step_key: Mapped[str] = mapped_column(String(60))
    # sent / skipped (paid, void, paused ...) / escalated
    outcome: Mapped[str] = mapped_column(String(20))
    message_id: Mapped[str | None] = mapped_column(String(255))
    recipient: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


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
    status: Mapped[str] = mapped_column(String(8), default=RecurringStatus.active.value)
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
