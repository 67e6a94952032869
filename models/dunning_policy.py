"""A firm's dunning policy: which reminders an overdue invoice gets, and its late fee."""

from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdMixin, TenantMixin, TimestampMixin


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
