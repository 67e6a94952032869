"""Automation runs: one row per run (pinned to the version it started on) and one row per
executed step.

The workflow ``automation-run-<run id>`` is the live truth while a run is in flight; these
rows are what the API lists and what outlives Temporal's retention. Action steps write their
own row in the transaction of their effect; control steps are written in batches by the next
activity (see workflows/automation/run/contracts.py)."""

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdMixin, TenantMixin, TimestampMixin


class RunStatus(enum.StrEnum):
    # Waiting for a free slot under the automation's concurrency limit (no workflow yet).
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    canceled = "canceled"
    # Refused by the concurrency limit (``when_full: skip``): never ran; ``error`` says why.
    skipped = "skipped"


class RunTrigger(enum.StrEnum):
    manual = "manual"
    webhook = "webhook"
    # A new run with the trigger payload of an earlier one (original or latest version).
    retry = "retry"
    # A new run that reuses the outputs of the steps an earlier run completed.
    resume = "resume"
    # Fired by the automation's Temporal Schedule.
    schedule = "schedule"
    # Started by a domain event or a custom event (event trigger).
    event = "event"
    # Started by another run's call_automation step.
    call = "call"
    # The last trigger of a debounce window.
    debounce = "debounce"


class StepStatus(enum.StrEnum):
    succeeded = "succeeded"
    failed = "failed"
    # Taken from the run this one resumed: not executed again.
    reused = "reused"


class AutomationRun(IdMixin, TenantMixin, TimestampMixin, Base):
    __tablename__ = "automation_runs"
    __table_args__ = (
        # A repeated Idempotency-Key (manual) or webhook-id (webhook) finds its run.
        UniqueConstraint("automation_id", "dedupe_key"),
        # Keyset pagination, newest first: all runs, by automation, by status.
        Index("ix_automation_runs_firm_id_created_at_id", "firm_id", "created_at", "id"),
        Index(
            "ix_automation_runs_firm_id_automation_id_created_at_id",
            "firm_id",
            "automation_id",
            "created_at",
            "id",
        ),
        Index(
            "ix_automation_runs_firm_id_status_created_at_id",
            "firm_id",
            "status",
            "created_at",
            "id",
        ),
        # Flow control: the runs holding or waiting for a slot, oldest first.
        Index(
            "ix_automation_runs_active_slots",
            "automation_id",
            "concurrency_key",
            "status",
            "created_at",
            postgresql_where="status IN ('queued', 'running')",
        ),
        CheckConstraint("depth >= 0", name="depth_not_negative"),
    )

    automation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("automations.id", ondelete="CASCADE")
    )
    version: Mapped[int]
    status: Mapped[RunStatus] = mapped_column(
        Enum(RunStatus, name="automation_run_status"), default=RunStatus.running
    )
    trigger: Mapped[RunTrigger] = mapped_column(Enum(RunTrigger, name="automation_run_trigger"))
    trigger_payload: Mapped[Any] = mapped_column(JSONB)
    dedupe_key: Mapped[str | None] = mapped_column(String(300))
    # Event hops or calls that led to this run (0 when started directly).
    depth: Mapped[int] = mapped_column(default=0, server_default="0")
    # The value of the automation's concurrency key for this run's trigger, if it has one.
    concurrency_key: Mapped[str | None] = mapped_column(String(200))
    # The run whose call_automation step started this one.
    parent_run_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("automation_runs.id", ondelete="SET NULL")
    )
    canceled_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    # The run this one retried or resumed.
    source_run_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("automation_runs.id", ondelete="SET NULL")
    )
    # {"step": step id or null, "message": text}; redacted.
    error: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    # For a queued run: when it was admitted and its workflow start enqueued.
    started_at: Mapped[datetime] = mapped_column(server_default=func.clock_timestamp())
    finished_at: Mapped[datetime | None]
    # The clock, so runs started in one transaction keep their order newest first.
    created_at: Mapped[datetime] = mapped_column(server_default=func.clock_timestamp())


class AutomationRunStep(IdMixin, TenantMixin, Base):
    __tablename__ = "automation_run_steps"
    __table_args__ = (
        # `visit` counts executions of one step in one run (1 unless a loop comes back to
        # it); with the run and step it is the idempotency scope of an action.
        UniqueConstraint("run_id", "step_id", "visit"),
        # Not unique: the steps of a foreach item share their foreach step's position
        # (their step ids, "<foreach>.<index>.<body step>", tell them apart).
        Index("ix_automation_run_steps_run_id_position", "run_id", "position"),
        CheckConstraint("visit >= 1", name="visit_positive"),
    )

    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("automation_runs.id", ondelete="CASCADE"))
    # A step id, or "<foreach step>.<item index>.<body step>" for a step of a foreach item.
    step_id: Mapped[str] = mapped_column(String(200))
    step_type: Mapped[str] = mapped_column(String(40))
    visit: Mapped[int] = mapped_column(default=1)
    # The order of execution in the run (1, 2, 3 …): control steps share the workflow's
    # clock reading, so times alone cannot order them. Then by step id within a foreach.
    position: Mapped[int]
    status: Mapped[StepStatus] = mapped_column(Enum(StepStatus, name="automation_step_status"))
    # Temporal attempts the step took (1 for control steps).
    attempt: Mapped[int] = mapped_column(default=1)
    # The rendered params, output and error, all redacted of secrets.
    input: Mapped[Any] = mapped_column(JSONB, nullable=True)
    output: Mapped[Any] = mapped_column(JSONB, nullable=True)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime]
