"""What admission and the settle activity need to know of ``AutomationDebounceWorkflow``:
its name, id, input, the ``trigger`` signal and the settle activity with its models."""

import uuid

from pydantic import BaseModel, Field

from core.search_attributes import SA_AUTOMATION, ProcessInput, StartAttributes

WORKFLOW_NAME = "AutomationDebounceWorkflow"
PROCESS = "automation-debounce"
TRIGGER_SIGNAL = "trigger"
SETTLE_ACTIVITY = "automation.settle_debounce"
MAX_HISTORY = 5_000


def workflow_id(automation_id: uuid.UUID, key_hash: str | None) -> str:
    """``key_hash`` is the first 16 hex digits of the key's SHA-256, None without a key."""
    base = f"automation-debounce-{automation_id}"
    return base if key_hash is None else f"{base}-{key_hash}"


class DebounceInput(ProcessInput):
    firm_id: uuid.UUID
    automation_id: uuid.UUID
    window: float
    # Runs not settled yet, carried over a continue-as-new.
    pending: list[uuid.UUID] = Field(default_factory=list)
    # History events after which a key that never goes quiet continues as new (each
    # trigger adds about six); well under Temporal's own suggestion, and lowered by tests.
    max_history: int = Field(default=MAX_HISTORY, ge=10)

    def search_attributes(self) -> StartAttributes:
        return StartAttributes(PROCESS, self.firm_id, {SA_AUTOMATION: str(self.automation_id)})


class DebounceTrigger(BaseModel):
    """A run queued by a trigger, and the window of the version it runs."""

    run_id: uuid.UUID
    window: float


class SettleDebounce(BaseModel):
    firm_id: uuid.UUID
    automation_id: uuid.UUID
    run_ids: list[uuid.UUID]


class DebounceSettled(BaseModel):
    # The run that went on (None when every run of the window had already ended) and what
    # flow control made of it.
    run_id: uuid.UUID | None = None
    status: str | None = None
    superseded: int = 0
