"""Automations: a draft anyone with automations:write may edit, and immutable published
versions (1, 2, 3 …), each one JSONB document so a run loads its definition in one query."""

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Enum, ForeignKey, Index, String, Text, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdMixin, TenantMixin, TimestampMixin


class AutomationStatus(enum.StrEnum):
    # Never activated: runs nothing (a draft can be published before activation).
    draft = "draft"
    active = "active"
    paused = "paused"
    # Read-only from then on.
    archived = "archived"


class Automation(IdMixin, TenantMixin, TimestampMixin, Base):
    __tablename__ = "automations"
    __table_args__ = (
        # Keyset pagination: newest first, optionally by status.
        Index("ix_automations_firm_id_created_at_id", "firm_id", "created_at", "id"),
        Index(
            "ix_automations_firm_id_status_created_at_id",
            "firm_id",
            "status",
            "created_at",
            "id",
        ),
        # Event triggers: the automations a domain event starts.
        Index("ix_automations_firm_id_trigger_event", "firm_id", "trigger_event"),
    )

    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[AutomationStatus] = mapped_column(
        Enum(AutomationStatus, name="automation_status"), default=AutomationStatus.draft
    )
    # Work in progress: any JSON object, validated only when published.
    draft: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # The newest published version's number; runs start on it.
    latest_version: Mapped[int | None]
    # The latest version's trigger type, and its event name for an event trigger: copied
    # at publish so an event finds its automations by index.
    trigger_type: Mapped[str | None] = mapped_column(String(20))
    trigger_event: Mapped[str | None] = mapped_column(String(100))
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    # The clock rather than the transaction start, so automations created in one
    # transaction (an import of several) keep their order in the newest-first list.
    created_at: Mapped[datetime] = mapped_column(server_default=func.clock_timestamp())


class AutomationVersion(IdMixin, TenantMixin, Base):
    """Immutable: the runtime roles may insert and select, never update or delete."""

    __tablename__ = "automation_versions"
    __table_args__ = (
        UniqueConstraint("automation_id", "version"),
        Index(
            "ix_automation_versions_firm_id_automation_id_created_at",
            "firm_id",
            "automation_id",
            "created_at",
            "id",
        ),
    )

    automation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("automations.id", ondelete="CASCADE")
    )
    version: Mapped[int]
    definition: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # Set when this version republished an earlier one (rollback).
    rolled_back_from: Mapped[int | None]
    # The events its wait_for_event steps wait for (Definition.wait_events): a domain event
    # of one of these names is delivered to the running runs of this version.
    wait_events: Mapped[list[str]] = mapped_column(
        ARRAY(String(100)), default=list, server_default="{}"
    )
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.clock_timestamp())
