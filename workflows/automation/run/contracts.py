"""What passes between the API, the run workflow and its activities.

Pure pydantic (imported inside the workflow sandbox). The contract in short:

- ``services.automations.runs.start_run`` inserts the ``automation_runs`` row (status
  running) and, in the same transaction, an outbox message that starts
  ``AutomationRunWorkflow`` with a ``RunInput`` under the id ``automation-run-<run id>``.
  The input carries the pinned version's definition, so the run never reads a newer one.
- The workflow evaluates control steps itself and calls one activity per action step
  (``automation.<step type>``) with a ``StepCall``: a local activity when the step is
  short (``definition.steps`` decides), else a regular one. The activity renders the params (it
  alone resolves ``secrets``), performs the effect, and in one transaction writes its
  ``automation_run_steps`` row plus the ``pending`` records of the control steps that ran
  since the previous activity. A retried activity that finds its row already succeeded
  returns the recorded outcome without repeating the effect. A failing activity raises
  ``ApplicationError`` (type ``StepFailed``, or ``StepInvalid`` with non_retryable=True)
  whose message is redacted and whose details are ``[{"attempt": n, "input": …}]``; the
  workflow records failed steps itself, in ``pending``.
- At the end, the local activity ``automation.finish_run`` writes the remaining records and
  the run's final status in one transaction.
"""

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, JsonValue

from core.search_attributes import (
    SA_AUTOMATION,
    SA_STATUS,
    SA_VERSION,
    ProcessInput,
    StartAttributes,
)

WORKFLOW_NAME = "AutomationRunWorkflow"
PROCESS = "automation-run"
FINISH_ACTIVITY = "automation.finish_run"
# Creates an approval (row, rendered message, approver emails): ApprovalOpen → ApprovalOpened.
OPEN_APPROVAL_ACTIVITY = "automation.open_approval"
# Closes a pending approval on timeout or cancel: ApprovalClose → ApprovalResult (the
# decision when one was recorded first, else the closed status).
CLOSE_APPROVAL_ACTIVITY = "automation.close_approval"
# Creates the run row of a called or scheduled run (through flow control):
# ChildRunRequest → ChildRunPrepared.
PREPARE_CHILD_RUN_ACTIVITY = "automation.prepare_child_run"
# Signals the run workflow takes, and its query (the live ``RunView``).
EVENT_SIGNAL = "event"
APPROVAL_SIGNAL = "approval_decided"
PROGRESS_QUERY = "progress"
# An event chain (emit_event → event trigger → emit_event …) is cut at this depth.
MAX_EVENT_DEPTH = 10
# ApplicationError types raised by step activities.
STEP_FAILED = "StepFailed"
# A failure that another attempt cannot fix (bad expression, refused URL, 4xx): not retried.
STEP_INVALID = "StepInvalid"

RunStatusName = Literal["running", "succeeded", "failed", "canceled"]
# What admission (flow control) made of a start.
AdmissionName = Literal["running", "queued", "skipped", "failed"]
StepStatusName = Literal["succeeded", "failed", "reused"]


def workflow_id(run_id: uuid.UUID) -> str:
    return f"automation-run-{run_id}"


def action_activity(step_type: str) -> str:
    """The activity name of an action step type (``automation.http_request`` …)."""
    return f"automation.{step_type}"


def idempotency_key(run_id: uuid.UUID, step_id: str, visit: int) -> str:
    """One effect per executed step: the same across Temporal retries of the activity,
    different when a loop visits the step again."""
    return f"{run_id}:{step_id}:{visit}"


class ReusedStep(BaseModel):
    """A step a resumed run takes from its source run instead of executing it."""

    output: JsonValue = None
    input: JsonValue = None


class RunInput(ProcessInput):
    run_id: uuid.UUID
    firm_id: uuid.UUID
    automation_id: uuid.UUID
    version: int
    # The pinned version's definition document (validated when it was published).
    definition: dict[str, Any]
    trigger: JsonValue = None
    started_at: datetime
    firm_time_zone: str = "UTC"
    # Resume: "<step id>#<visit>" → what that step produced in the source run.
    reuse: dict[str, ReusedStep] = Field(default_factory=dict)
    # How many event hops or calls led to this run (0 for a run started directly).
    depth: int = 0
    # The user who started the run (or the run that called it started), if any.
    initiator_id: uuid.UUID | None = None
    # Set when the run continued as new: where the previous execution stopped
    # (workflows/automation/run/state.py owns its shape).
    state: dict[str, Any] | None = None
    # Whether short action steps may run as local activities (steps.runs_locally). Runs
    # started before they could (their histories hold regular activities) lack it, so
    # they replay as they ran.
    local_steps: bool = False

    def search_attributes(self) -> StartAttributes:
        # The status starts as "running"; the run upserts its final one.
        return StartAttributes(
            PROCESS,
            self.firm_id,
            {
                SA_AUTOMATION: str(self.automation_id),
                SA_VERSION: self.version,
                SA_STATUS: "running",
            },
        )


class StepRecord(BaseModel):
    """One executed step, as written to automation_run_steps (already redacted)."""

    step_id: str
    step_type: str
    visit: int = 1
    # The order of execution in the run, from 1.
    position: int
    status: StepStatusName
    attempt: int = 1
    input: JsonValue = None
    output: JsonValue = None
    error: str | None = None
    started_at: datetime
    finished_at: datetime


class StepCall(BaseModel):
    """The input of an action activity."""

    run_id: uuid.UUID
    firm_id: uuid.UUID
    step_id: str
    step_type: str
    visit: int
    position: int
    # The step's params as in the definition (expressions not yet rendered).
    params: dict[str, Any]
    # The expression context without secrets: trigger, steps, vars, run, firm.
    context: dict[str, Any]
    started_at: datetime
    # Control-step records to write in the same transaction.
    pending: list[StepRecord] = Field(default_factory=list)
    # Scheduled in the run's first workflow task: a local activity's attempt 1 there cannot
    # follow an earlier execution of the step, so it skips looking for its record first. A
    # local activity starts again at attempt 1 when a worker dies mid-task, but the
    # retried task is not the first any more.
    first_task: bool = False

    @property
    def idempotency_key(self) -> str:
        return idempotency_key(self.run_id, self.step_id, self.visit)


class StepOutcome(BaseModel):
    """What an action activity returns: the redacted rendered input and output."""

    input: JsonValue = None
    output: JsonValue = None
    attempt: int = 1


class FinishRun(BaseModel):
    run_id: uuid.UUID
    firm_id: uuid.UUID
    status: RunStatusName
    # {"step": step id or None, "message": text}
    error: dict[str, Any] | None = None
    pending: list[StepRecord] = Field(default_factory=list)


class WaitView(BaseModel):
    """What a waiting run waits for."""

    kind: Literal["event", "approval", "timer", "child_run", "foreach"]
    step_id: str
    # event: its name and correlation key
    event: str | None = None
    key: str | None = None
    # approval: its id (votes so far are read from Postgres by the run view)
    approval_id: uuid.UUID | None = None
    # child_run: the called run
    child_run_id: uuid.UUID | None = None
    # foreach: items done of total
    done: int | None = None
    total: int | None = None
    # When the wait ends by itself (timer, or a timeout), if ever.
    wakes_at: datetime | None = None


class RunView(BaseModel):
    """The live view the ``progress`` query answers."""

    status: RunStatusName
    current_step: str | None = None
    steps: list[StepRecord] = Field(default_factory=list)
    error: dict[str, Any] | None = None
    waiting: WaitView | None = None


class RunEvent(BaseModel):
    """The ``event`` signal: an event sent to a run, or a domain event it may wait for."""

    # Unique per event: a repeated delivery is ignored by the run.
    event_id: str
    name: str
    key: str | None = None
    payload: JsonValue = None


class ApprovalOpen(BaseModel):
    run_id: uuid.UUID
    firm_id: uuid.UUID
    automation_id: uuid.UUID
    step_id: str
    visit: int
    position: int
    # The step's params as in the definition (title and message not yet rendered).
    params: dict[str, Any]
    context: dict[str, Any]
    initiator_id: uuid.UUID | None = None
    expires_at: datetime | None = None
    started_at: datetime
    # Control-step records to write in the same transaction.
    pending: list[StepRecord] = Field(default_factory=list)


class ApprovalOpened(BaseModel):
    approval_id: uuid.UUID
    # Rendered title, for the run view.
    title: str
    notified: int


class ApprovalVote(BaseModel):
    user_id: uuid.UUID
    decision: Literal["approve", "reject"]
    comment: str | None = None
    decided_at: datetime


class ApprovalResult(BaseModel):
    """The ``approval_decided`` signal, and what ``close_approval`` answers."""

    approval_id: uuid.UUID
    status: Literal["approved", "rejected", "expired", "canceled"]
    # The validated form of the vote that decided (approved), else empty.
    form: dict[str, JsonValue] = Field(default_factory=dict)
    votes: list[ApprovalVote] = Field(default_factory=list)


class ApprovalClose(BaseModel):
    approval_id: uuid.UUID
    firm_id: uuid.UUID
    reason: Literal["expired", "canceled"]


class ChildRunRequest(BaseModel):
    firm_id: uuid.UUID
    automation_id: uuid.UUID
    payload: JsonValue = None
    trigger: Literal["call", "schedule"]
    # Makes a retried activity find the run it created: "call:<idempotency key>" or
    # "schedule:<scheduled time>".
    dedupe_key: str
    parent_run_id: uuid.UUID | None = None
    depth: int = 0
    initiator_id: uuid.UUID | None = None
    # The caller's firm: a call into another firm's automation is refused (404).
    caller_firm_id: uuid.UUID | None = None


class ChildRunPrepared(BaseModel):
    admission: AdmissionName
    run_id: uuid.UUID | None = None
    # Set when admission is "running": the workflow starts the child with it.
    input: RunInput | None = None
    reason: str | None = None


class RunResult(BaseModel):
    status: RunStatusName
    error: dict[str, Any] | None = None
    # The output of the last step the run executed (what call_automation returns).
    output: JsonValue = None
