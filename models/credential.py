"""The per-firm credentials vault: secrets (API keys, tokens) automation steps reference
by name, stored encrypted (core.crypto) and never read back through the API."""

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdMixin, TenantMixin, TimestampMixin, clock

NAME_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"


class Credential(IdMixin, TenantMixin, TimestampMixin, Base):
    __tablename__ = "credentials"
    __table_args__ = (
        # Steps say `{{ secrets.<name> }}`: a name is an identifier, one per firm.
        UniqueConstraint("firm_id", "name"),
        CheckConstraint(f"name ~ '{NAME_PATTERN}'", name="name_is_identifier"),
        Index("ix_credentials_firm_id_created_at_id", "firm_id", "created_at", "id"),
    )

    name: Mapped[str] = mapped_column(String(63))
    description: Mapped[str | None] = mapped_column(String(500))
    # A Fernet token (MultiFernet over settings.encryption_keys); the plaintext is never stored.
    value_encrypted: Mapped[str] = mapped_column(Text)
    value_updated_at: Mapped[datetime] = mapped_column(server_default=clock())
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
