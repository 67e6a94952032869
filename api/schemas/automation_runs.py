"""Automation runs: what starting, retrying and reading a run exchange."""

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StringConstraints, computed_field

from api.schemas.approvals import ApprovalDetail
from models import RunStatus, RunTrigger, StepStatus
from services.automations.runs import RetryVersion
from workflows.automation.run.contracts import RunView, WaitView

# The longest correlation key an event sent to a run may carry.
MAX_EVENT_KEY = 200


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
    # Who canceled the run (null when it was not canceled by a person).
    canceled_by: uuid.UUID | None
    # Event hops or calls that led to this run (0 when started directly).
    depth: int
    # The run whose call_automation step started this one.
    parent_run_id: uuid.UUID | None
    # The value of the automation's concurrency key for this run, if it has one.
    concurrency_key: str | None
    started_at: datetime
    finished_at: datetime | None
    created_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def reason(self) -> str | None:
        """Why a queued run waits or a skipped run never ran."""
        if self.status not in (RunStatus.queued, RunStatus.skipped) or self.error is None:
            return None
        message = self.error.get("message")
        return message if isinstance(message, str) else None


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
    # What a running run waits for right now (from the live view): an event, an approval,
    # a timer, a called run or foreach items.
    waiting: WaitView | None
    # The run's approvals, oldest first, with the votes cast so far.
    approvals: list[ApprovalDetail]


class RunEventSend(BaseModel):
    """An event for a running run: a ``wait_for_event`` step waiting for this name takes
    it when ``key`` matches its own (a step without a key takes any)."""

    model_config = ConfigDict(extra="forbid")

    key: Annotated[str, StringConstraints(min_length=1, max_length=MAX_EVENT_KEY)] | None = None
    # Any JSON, at most 256 KB: the step's output ``payload``.
    payload: JsonValue = None


class RunEventAccepted(BaseModel):
    # Unique per event; a repeat of the same Idempotency-Key sends no second event.
    event_id: str
