"""An automation's inbound webhook: the secret URL whose deliveries start a run
(services/automations/inbound_webhooks.py verifies them)."""

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdMixin, TenantMixin, TimestampMixin


class InboundWebhook(IdMixin, TenantMixin, TimestampMixin, Base):
    """The secret inbound URL of one automation; a delivery to it starts a run.

    The table keeps its first name, from when these were called hooks."""

    __tablename__ = "automation_hooks"
    __table_args__ = (UniqueConstraint("automation_id"),)

    automation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("automations.id", ondelete="CASCADE")
    )
    # SHA-256 of the URL token (core.security); the token is shown once.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_prefix: Mapped[str] = mapped_column(String(16))
    # The Standard Webhooks signing secret ("whsec_…"), encrypted (core.crypto); when set,
    # unsigned, forged and stale requests are refused.
    signing_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    rotated_at: Mapped[datetime | None]
