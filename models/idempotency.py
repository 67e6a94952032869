import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import String, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdMixin, TenantMixin


class IdempotencyKey(IdMixin, TenantMixin, Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("firm_id", "principal_id", "route", "key"),)

    principal_id: Mapped[uuid.UUID]
    route: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    response_status: Mapped[int]
    response_body: Mapped[Any] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
