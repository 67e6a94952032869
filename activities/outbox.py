"""The outbox relay's one activity: dispatch pending rows of every firm, batch by batch."""

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from core.temporal import ClientProvider
from services.outbox.dispatch import dispatch_pending
from workflows.outbox.relay.contracts import (
    DISPATCH_ACTIVITY,
    DispatchPendingInput,
    DispatchPendingResult,
)


class OutboxActivities:
    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], temporal: ClientProvider
    ) -> None:
        self._sessionmaker = sessionmaker
        self._temporal = temporal

    @activity.defn(name=DISPATCH_ACTIVITY)
    async def dispatch_pending(self, input: DispatchPendingInput) -> DispatchPendingResult:
        dispatched = failed = 0
        for _ in range(input.max_batches):
            report = await dispatch_pending(
                self._sessionmaker, self._temporal, limit=input.batch_size
            )
            activity.heartbeat()
            dispatched += report.dispatched
            failed += report.failed
            # A short batch drained the queue; a batch that all failed would only fail
            # again at once, so the relay waits for its next pass instead.
            if report.picked < input.batch_size or report.dispatched == 0:
                return DispatchPendingResult(
                    dispatched=dispatched, failed=failed, more_pending=False
                )
        return DispatchPendingResult(dispatched=dispatched, failed=failed, more_pending=True)
