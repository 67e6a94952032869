"""Automations: request bodies reuse the field rules of services.automations; definitions
travel as raw JSON (read by the routes themselves, so duplicate keys can be detected)."""

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from models import AutomationStatus
from services.automations.automations import AutomationFields, AutomationPatch
from services.automations.schedules import ScheduleView


class AutomationCreate(AutomationFields):
    """A new automation, in status ``draft`` with no draft definition yet."""


class AutomationUpdate(AutomationPatch):
    """Only the fields sent change."""


class AutomationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    description: str | None
    status: AutomationStatus
    latest_version: int | None
    created_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class AutomationDetail(AutomationRead):
    """One automation with its draft (lists leave the draft out)."""

    draft: dict[str, Any] | None


class DefinitionProblem(BaseModel):
    """What stops a draft from being published, at its JSON pointer in the definition."""

    pointer: str
    detail: str


class DraftSaved(AutomationDetail):
    """The saved draft and what would stop it from being published (empty when valid)."""

    problems: list[DefinitionProblem]


class VersionSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    automation_id: uuid.UUID
    version: int
    rolled_back_from: int | None
    created_by: uuid.UUID | None
    created_at: datetime


class VersionRead(VersionSummary):
    definition: dict[str, Any]


class Valid(BaseModel):
    valid: bool = True


class Imported(BaseModel):
    automation: AutomationDetail
    version: VersionRead | None


class ScheduleSpecRead(BaseModel):
    """When it fires, as the latest version's trigger says."""

    cron: str | None
    interval: float | None
    start_at: datetime | None
    end_at: datetime | None
    catchup_window: float


class ScheduleFireRead(BaseModel):
    scheduled_at: datetime
    started_at: datetime
    # The fire's AutomationScheduleWorkflow (its run is the child workflow it started).
    workflow_id: str


class ScheduleRead(BaseModel):
    """An automation's Temporal Schedule. ``state`` is what Temporal holds: ``absent`` when
    there is none (``reason`` says why firmflow wants none, if it does); ``synced`` is false
    while a change is still on its way to Temporal."""

    schedule_id: str
    state: Literal["active", "paused", "absent"]
    synced: bool
    reason: str | None
    # The pause note: firmflow's own, or an operator's from the Temporal Web UI.
    note: str | None
    version: int | None
    spec: ScheduleSpecRead | None
    time_zone: str | None
    overlap: Literal["skip", "buffer_one", "allow_all"] | None
    # Up to 10, empty while paused.
    next_fire_times: list[datetime]
    # Up to 10, oldest first.
    recent_fires: list[ScheduleFireRead]

    @classmethod
    def of(cls, view: ScheduleView) -> "ScheduleRead":
        desired, trigger = view.desired, view.desired.trigger
        return cls(
            schedule_id=view.schedule_id,
            state=view.state,
            synced=view.synced,
            reason=desired.absent_reason,
            note=view.note,
            version=desired.version,
            spec=None
            if trigger is None
            else ScheduleSpecRead(
                cron=trigger.cron,
                interval=trigger.interval,
                start_at=trigger.start_at,
                end_at=trigger.end_at,
                catchup_window=trigger.catchup_window,
            ),
            time_zone=None if trigger is None else desired.time_zone,
            overlap=None if trigger is None else trigger.overlap,
            next_fire_times=list(view.next_fire_times),
            recent_fires=[
                ScheduleFireRead(scheduled_at=at, started_at=started, workflow_id=wid)
                for at, started, wid in view.recent_fires
            ],
        )
