"""Debounce: one workflow per automation and debounce key collects the runs its triggers
queued, and once ``window`` seconds pass with no newer trigger lets the last of them go on
(``automation.settle_debounce``); the earlier ones are skipped as superseded.

Triggers arrive as the ``trigger`` signal through the outbox's signal-with-start
(services.automations.admission), so the first trigger of a quiet key starts the workflow
and later ones reach the running one. Triggers that arrive while a window is being settled
open the next window. The workflow ends when a settle finds nothing new; a signal that
races that completion is not lost, because Temporal refuses to complete a workflow whose
task saw new events and runs the task again with the signal in it."""

import uuid
from collections.abc import Callable
from datetime import timedelta

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.common import RetryPolicy

from core.search_attributes import SA_AUTOMATION, ProcessInput, StartAttributes

DEBOUNCE_WORKFLOW = "AutomationDebounceWorkflow"
DEBOUNCE_PROCESS = "automation-debounce"
DEBOUNCE_SIGNAL = "trigger"
SETTLE_DEBOUNCE_ACTIVITY = "automation.settle_debounce"
SETTLE_TIMEOUT = timedelta(seconds=30)
MAX_HISTORY = 5_000
# Settling only writes rows and is idempotent: it is retried until the database answers.
SETTLE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=0,
)


def debounce_workflow_id(automation_id: uuid.UUID, key_hash: str | None) -> str:
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
        return StartAttributes(
            DEBOUNCE_PROCESS, self.firm_id, {SA_AUTOMATION: str(self.automation_id)}
        )


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


@workflow.defn(name=DEBOUNCE_WORKFLOW)
class AutomationDebounceWorkflow:
    @workflow.init
    def __init__(self, input: DebounceInput) -> None:
        self._pending = list(input.pending)
        self._window = input.window
        # Counts signals, so a wait can tell that a newer trigger came.
        self._received = 0

    @workflow.signal(name=DEBOUNCE_SIGNAL)
    def trigger(self, trigger: DebounceTrigger) -> None:
        self._pending.append(trigger.run_id)
        self._window = trigger.window
        self._received += 1

    @workflow.run
    async def run(self, input: DebounceInput) -> None:
        while self._pending:
            await self._quiet_window(input)
            batch, self._pending = self._pending, []
            await workflow.execute_activity(
                SETTLE_DEBOUNCE_ACTIVITY,
                SettleDebounce(
                    firm_id=input.firm_id, automation_id=input.automation_id, run_ids=batch
                ),
                result_type=DebounceSettled,
                start_to_close_timeout=SETTLE_TIMEOUT,
                retry_policy=SETTLE_RETRY,
            )

    def _newer_than(self, seen: int) -> Callable[[], bool]:
        return lambda: self._received != seen

    async def _quiet_window(self, input: DebounceInput) -> None:
        """Returns once ``window`` seconds passed without a trigger. A key that never goes
        quiet continues as new, so its history stays small."""
        while True:
            info = workflow.info()
            if (
                info.is_continue_as_new_suggested()
                or info.get_current_history_length() >= input.max_history
            ):
                await workflow.wait_condition(workflow.all_handlers_finished)
                # The new run opens a full window again: later than this one would close,
                # never earlier, so no trigger is cut short.
                workflow.continue_as_new(
                    input.model_copy(update={"window": self._window, "pending": self._pending})
                )
            seen = self._received
            window = timedelta(seconds=self._window)
            try:
                await workflow.wait_condition(self._newer_than(seen), timeout=window)
            except TimeoutError:
                return
