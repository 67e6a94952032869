"""The dunning reminders sent (or decided against) for an invoice, one per policy step."""

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdMixin, TenantMixin


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
