import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Enum, ForeignKey, Index, String, false, func, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdMixin, TenantMixin, TimestampMixin


class ClientKind(enum.StrEnum):
    organization = "organization"
    person = "person"


class ClientStatus(enum.StrEnum):
    prospect = "prospect"
    active = "active"
    inactive = "inactive"


class Client(IdMixin, TenantMixin, TimestampMixin, Base):
    __tablename__ = "clients"
    __table_args__ = (
        # Duplicate detection (API create and import) relies on these two.
        Index(
            "uq_clients_firm_id_email",
            "firm_id",
            func.lower(text("email")),
            unique=True,
            postgresql_where=text("email IS NOT NULL"),
        ),
        Index(
            "uq_clients_firm_id_external_ref",
            "firm_id",
            "external_ref",
            unique=True,
            postgresql_where=text("external_ref IS NOT NULL"),
        ),
        # Keyset pagination: newest first, optionally by status.
        Index("ix_clients_firm_id_created_at_id", "firm_id", "created_at", "id"),
        Index("ix_clients_firm_id_status_created_at_id", "firm_id", "status", "created_at", "id"),
        Index("ix_clients_firm_id_tags", "firm_id", "tags", postgresql_using="gin"),
        Index(
            "ix_clients_search",
            "firm_id",
            text("(lower(name || ' ' || coalesce(email, ''))) gin_trgm_ops"),
            postgresql_using="gin",
        ),
    )

    kind: Mapped[ClientKind] = mapped_column(Enum(ClientKind, name="client_kind"))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(50))
    status: Mapped[ClientStatus] = mapped_column(
        Enum(ClientStatus, name="client_status"), default=ClientStatus.prospect
    )
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(50)), default=list)
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    external_ref: Mapped[str | None] = mapped_column(String(100))
    archived_at: Mapped[datetime | None]
    # Dunning reminders for every invoice of this client wait while this is set.
    dunning_paused: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Contact(IdMixin, TenantMixin, TimestampMixin, Base):
    __tablename__ = "contacts"
    __table_args__ = (
        Index(
            "ix_contacts_firm_id_client_id_created_at", "firm_id", "client_id", "created_at", "id"
        ),
    )

    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(50))
    title: Mapped[str | None] = mapped_column(String(100))
    is_primary: Mapped[bool] = mapped_column(default=False)
