"""Staff to-dos: created by people or by the ``create_task`` automation step."""

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdMixin, TenantMixin, TimestampMixin


class TaskStatus(enum.StrEnum):
    open = "open"
    done = "done"


class Task(IdMixin, TenantMixin, TimestampMixin, Base):
    __tablename__ = "tasks"
    __table_args__ = (
        # status is text, not a Postgres enum: text equality is leakproof, so row-level
        # security lets the planner use the status indexes (an enum's = is not).
        CheckConstraint("status IN ('open', 'done')", name="status_known"),
        CheckConstraint("(status = 'done') = (completed_at IS NOT NULL)", name="done_has_time"),
        # One index behind each list filter, each ending in the keyset order.
        Index("ix_tasks_firm_id_created_at_id", "firm_id", "created_at", "id"),
        Index("ix_tasks_firm_id_status_created_at_id", "firm_id", "status", "created_at", "id"),
        Index(
            "ix_tasks_firm_id_assignee_id_created_at_id",
            "firm_id",
            "assignee_id",
            "created_at",
            "id",
        ),
        Index(
            "ix_tasks_firm_id_client_id_created_at_id", "firm_id", "client_id", "created_at", "id"
        ),
        # Due-date ranges and "overdue" (open, due before today).
        Index("ix_tasks_firm_id_due_date", "firm_id", "due_date"),
        Index(
            "ix_tasks_open_due_date",
            "firm_id",
            "due_date",
            postgresql_where=text("status = 'open'"),
        ),
    )

    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default=TaskStatus.open.value)
    # A date, not a time: "due on the 15th" in the firm's time zone.
    due_date: Mapped[date | None]
    # Users are deactivated rather than deleted; should one be deleted, the task stays.
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    # Clients are archived, never deleted.
    client_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("clients.id"))
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    completed_at: Mapped[datetime | None]
    completed_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
