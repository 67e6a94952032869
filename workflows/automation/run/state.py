"""Where a run stands, carried from one execution of AutomationRunWorkflow to the next when
it continues as new (``RunInput.state``).

Pure pydantic, passed through the workflow sandbox: the worker process holds one copy of
this module, so ``HISTORY_LIMIT`` is read from it by every run on that worker.
"""

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, JsonValue

from workflows.automation.run.contracts import ApprovalResult, RunEvent, StepRecord

# A run continues as new once its history holds this many events (or earlier, when the
# server suggests it), well before Temporal's limit of 50,000.
HISTORY_LIMIT = 10_000
# Events a run keeps for a wait that has not begun yet; the oldest one goes first.
MAX_BUFFERED_EVENTS = 100
# Event ids a run remembers to ignore a repeated delivery; the oldest is forgotten first.
MAX_SEEN_EVENT_IDS = 1000


class WaitState(BaseModel):
    """A wait_for_event or approval step that was waiting when the run continued as new:
    the next execution resumes it with the time it has left."""

    kind: Literal["event", "approval"]
    step_id: str
    visit: int
    started_at: datetime
    # When the wait times out; None waits for ever.
    deadline: datetime | None = None
    # event: the rendered correlation key.
    key: str | None = None
    # approval: the approval opened for this visit.
    approval_id: uuid.UUID | None = None


class RunState(BaseModel):
    # The step the next execution runs first (the waiting step when ``wait`` is set).
    next_step: str
    # How often each step ran, and the position and count of the last step executed, not
    # counting a step that was waiting (it runs again, and counts then).
    visits: dict[str, int] = Field(default_factory=dict)
    position: int = 0
    executed: int = 0
    context: dict[str, Any]
    last_output: JsonValue = None
    # Records of control steps not yet written.
    pending: list[StepRecord] = Field(default_factory=list)
    events: list[RunEvent] = Field(default_factory=list)
    seen_event_ids: list[str] = Field(default_factory=list)
    # Approval decisions signalled but not yet taken by a waiting step.
    approvals: list[ApprovalResult] = Field(default_factory=list)
    wait: WaitState | None = None
