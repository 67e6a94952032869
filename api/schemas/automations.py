"""Automations: request bodies reuse the field rules of services.automations; definitions
travel as raw JSON (read by the routes themselves, so duplicate keys can be detected)."""

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from models import AutomationStatus
from services.automations.automations import AutomationFields, AutomationPatch


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


class Problem(BaseModel):
    pointer: str
    detail: str


class DraftSaved(AutomationDetail):
    """The saved draft and what would stop it from being published (empty when valid)."""

    problems: list[Problem]


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
