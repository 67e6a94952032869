"""What the worker and the outbox activity need to know of ``OutboxRelayWorkflow``: its
name, input and result, its activity and the ``status`` query. Its id is the platform's
singleton ``core.temporal.OUTBOX_RELAY_ID``."""

from pydantic import BaseModel, Field

from core.search_attributes import ProcessInput, StartAttributes

WORKFLOW_NAME = "OutboxRelayWorkflow"
PROCESS = "outbox-relay"
DISPATCH_ACTIVITY = "outbox.dispatch_pending"
STATUS_QUERY = "status"


class OutboxRelayInput(ProcessInput):
    interval_seconds: float = Field(default=5.0, gt=0)
    batch_size: int = Field(default=200, ge=1, le=1000)
    # Passes per run before continuing as new (the server may suggest it sooner).
    passes_per_run: int = Field(default=500, ge=1)
    # Stop after this many passes in total; None (production) means never.
    max_passes: int | None = Field(default=None, ge=1)
    passes_done: int = 0
    dispatched_total: int = 0

    def search_attributes(self) -> StartAttributes:
        # A system workflow: it serves every firm, so it has no firm id to be found by.
        return StartAttributes(PROCESS, None)


class OutboxRelayResult(BaseModel):
    passes: int
    dispatched: int


class DispatchPendingInput(BaseModel):
    batch_size: int
    # One activity drains at most this many batches, so it stays short; the workflow
    # calls again at once when it reports more pending.
    max_batches: int = 50


class DispatchPendingResult(BaseModel):
    dispatched: int
    failed: int
    more_pending: bool
