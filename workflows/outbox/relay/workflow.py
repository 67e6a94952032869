"""The outbox relay: a singleton workflow (id ``outbox-relay``) that dispatches whatever
the fast path left pending, then waits and does it again, forever. It continues-as-new
every so often so its history stays short; ops see it, and its last pass, in the Web UI."""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from workflows.outbox.relay.contracts import (
        DISPATCH_ACTIVITY,
        STATUS_QUERY,
        WORKFLOW_NAME,
        DispatchPendingInput,
        DispatchPendingResult,
        OutboxRelayInput,
        OutboxRelayResult,
    )


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

    @workflow.query(name=STATUS_QUERY)
    def status(self) -> OutboxRelayResult:
        return OutboxRelayResult(passes=self._passes, dispatched=self._dispatched)
