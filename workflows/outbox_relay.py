"""The outbox relay: a singleton workflow (id ``outbox-relay``) that dispatches whatever
the fast path left pending, then waits and does it again, forever. It continues-as-new
every so often so its history stays short; ops see it, and its last pass, in the Web UI."""

from datetime import timedelta

from pydantic import BaseModel, Field
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from core.search_attributes import ProcessInput, StartAttributes

DISPATCH_ACTIVITY = "outbox.dispatch_pending"
WORKFLOW_NAME = "OutboxRelayWorkflow"
PROCESS = "outbox-relay"


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


@workflow.defn(name=WORKFLOW_NAME)
class OutboxRelayWorkflow:
    def __init__(self) -> None:
        self._passes = 0
        self._dispatched = 0

    @workflow.run
    async def run(self, input: OutboxRelayInput) -> OutboxRelayResult:
        self._passes = input.passes_done
        self._dispatched = input.dispatched_total
        passes_this_run = 0
        while input.max_passes is None or self._passes < input.max_passes:
            more_pending = await self._pass(input)
            self._passes += 1
            passes_this_run += 1
            if input.max_passes is not None and self._passes >= input.max_passes:
                break
            if (
                passes_this_run >= input.passes_per_run
                or workflow.info().is_continue_as_new_suggested()
            ):
                workflow.continue_as_new(
                    input.model_copy(
                        update={"passes_done": self._passes, "dispatched_total": self._dispatched}
                    )
                )
            if not more_pending:
                await workflow.sleep(timedelta(seconds=input.interval_seconds))
        return OutboxRelayResult(passes=self._passes, dispatched=self._dispatched)

    async def _pass(self, input: OutboxRelayInput) -> bool:
        try:
            result: DispatchPendingResult = await workflow.execute_activity(
                DISPATCH_ACTIVITY,
                DispatchPendingInput(batch_size=input.batch_size),
                result_type=DispatchPendingResult,
                start_to_close_timeout=timedelta(minutes=5),
                heartbeat_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(
                    initial_interval=timedelta(seconds=1),
                    backoff_coefficient=2.0,
                    maximum_interval=timedelta(seconds=30),
                    maximum_attempts=3,
                ),
            )
        except ActivityError as err:
            # The relay must outlive a database or Temporal outage: log, wait, try again.
            workflow.logger.warning("outbox relay pass failed: %s", err.cause or err)
            return False
        self._dispatched += result.dispatched
        return result.more_pending

    @workflow.query
    def status(self) -> OutboxRelayResult:
        return OutboxRelayResult(passes=self._passes, dispatched=self._dispatched)
