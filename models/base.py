"""Declarative base: naming convention, UUID primary keys, timestamps, tenant ownership."""

import enum
import uuid
from datetime import datetime

from sqlalchemy import DateTime, Enum, ForeignKey, MetaData, func
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column
from sqlalchemy.sql.functions import Function

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def clock() -> Function[datetime]:
    """The one clock of ``created_at`` and ``updated_at``, for column defaults and for
    every statement that sets them itself (an upsert, a bulk update). Postgres's
    ``clock_timestamp()``: ``now()`` is the start of the transaction, so rows created in one
    transaction (an import, a test) would tie in the newest-first lists, and a row created
    with one clock and updated with the other could look updated before it existed."""
    return func.clock_timestamp(type_=DateTime(timezone=True))


def varchar_enum(members: type[enum.StrEnum], length: int) -> Enum:
    """A StrEnum column kept as ``VARCHAR(length)`` holding the members' values, for the
    tables (billing's) whose CHECK constraint lists the values instead of a Postgres enum
    type: a row reads back as the member, so code compares and assigns members."""
    return Enum(
        members,
        native_enum=False,
        length=length,
        values_callable=lambda enum_type: [member.value for member in enum_type],
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: DateTime(timezone=True)}


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(server_default=clock())
    updated_at: Mapped[datetime] = mapped_column(server_default=clock(), onupdate=clock())


class TenantMixin:
    """A row owned by one firm; row-level security keys on ``firm_id``."""

    @declared_attr
    def firm_id(cls) -> Mapped[uuid.UUID]:
        return mapped_column(ForeignKey("firms.id", ondelete="CASCADE"), index=True)
