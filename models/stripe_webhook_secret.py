"""The signing secrets of a firm's Stripe webhook endpoint (kept encrypted)."""

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdMixin, TenantMixin, TimestampMixin


class StripeWebhookSecret(IdMixin, TenantMixin, TimestampMixin, Base):
    """A firm may have several signing secrets at once while it rotates its endpoint's."""

    __tablename__ = "stripe_webhook_secrets"

    secret_encrypted: Mapped[str] = mapped_column(Text)
    # The last characters, so people can tell secrets apart without seeing them.
    hint: Mapped[str] = mapped_column(String(8))
    expires_at: Mapped[datetime | None]
