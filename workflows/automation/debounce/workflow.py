"""Debounce: one workflow per automation and debounce key collects the runs its triggers
queued, and once ``window`` seconds pass with no newer trigger lets the last of them go on
(``automation.settle_debounce``); the earlier ones are skipped as superseded.

Triggers arrive as the ``trigger`` signal through the outbox's signal-with-start
(services.automations.admission), so the first trigger of a quiet key starts the workflow
and later ones reach the running one. Triggers that arrive while a window is being settled
open the next window. The workflow ends when a settle finds nothing new; a signal that
races that completion is not lost, because Temporal refuses to complete a workflow whose
task saw new events and runs the task again with the signal in it."""

from collections.abc import Callable
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from workflows.automation.debounce.contracts import (
        SETTLE_ACTIVITY,
        TRIGGER_SIGNAL,
        WORKFLOW_NAME,
        DebounceInput,
        DebounceSettled,
        DebounceTrigger,
        SettleDebounce,
    )

SETTLE_TIMEOUT = timedelta(seconds=30)
# Settling only writes rows and is idempotent: it is retried until the database answers.
SETTLE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=1),
    maximum_attempts=0,
)


@workflow.defn(name=WORKFLOW_NAME)
class AutomationDebounceWorkflow:
    @workflow.init
    def __init__(self, input: DebounceInput) -> None:
        self._pending = list(input.pending)
        self._window = input.window
        # Counts signals, so a wait can tell that a newer trigger came.
        self._received = 0

    @workflow.signal(name=TRIGGER_SIGNAL)
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
                SETTLE_ACTIVITY,
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
