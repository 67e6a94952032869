"""Automation runs: what starting, retrying and reading a run exchange."""

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from models import RunStatus, RunTrigger, StepStatus
from services.automations.runs import RetryVersion
from workflows.automation.contracts import RunView


class RunStart(BaseModel):
    """The trigger payload (``trigger`` in expressions): any JSON, at most 256 KB."""

    model_config = ConfigDict(extra="forbid")

    payload: JsonValue = Field(default_factory=dict)


class RunRetry(BaseModel):
    """``original``: the version the retried run ran; ``latest``: the newest published."""

    model_config = ConfigDict(extra="forbid")

    version: RetryVersion


class RunRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    automation_id: uuid.UUID
    version: int
    status: RunStatus
    trigger: RunTrigger
    # The run this one retried or resumed.
    source_run_id: uuid.UUID | None
    error: dict[str, Any] | None
    created_by: uuid.UUID | None
    started_at: datetime
    finished_at: datetime | None
    created_at: datetime


class StepRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    step_id: str
    step_type: str
    visit: int
    # The order of execution in the run, from 1.
    position: int
    status: StepStatus
    attempt: int
    input: JsonValue
    output: JsonValue
    error: str | None
    started_at: datetime
    finished_at: datetime


class RunDetail(RunRead):
    """One run: its payload, its recorded steps in the order they started and, while it
    runs, the workflow's live view (null when Temporal does not answer)."""

    trigger_payload: JsonValue
    steps: list[StepRead]
    # More step rows exist than are shown (a loop visited steps very many times).
    more_steps: bool
    live: RunView | None
