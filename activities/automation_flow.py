"""Flow-control activities of automation runs: preparing a called or scheduled run, and
settling a closed debounce window. The rules live in services.automations.child_runs and
services.automations.admission; these open the firm's tenant transaction and dispatch what
it enqueued once it commits."""

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from core.db import tenant_session
from core.temporal import ClientProvider
from services.automations import admission, child_runs
from services.outbox.dispatch import dispatch_after_commit
from services.outbox.writer import pop_outbox_ids
from workflows.automation.debounce import contracts as debounce
from workflows.automation.debounce.contracts import DebounceSettled, SettleDebounce
from workflows.automation.run.contracts import (
    PREPARE_CHILD_RUN_ACTIVITY,
    ChildRunPrepared,
    ChildRunRequest,
)


class FlowActivities:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        temporal: ClientProvider,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._temporal = temporal

    @activity.defn(name=PREPARE_CHILD_RUN_ACTIVITY)
    async def prepare_child_run(self, request: ChildRunRequest) -> ChildRunPrepared:
        async with tenant_session(request.firm_id, self._sessionmaker) as session:
            prepared = await child_runs.prepare_child_run(session, request)
            outbox_ids = pop_outbox_ids(session)
        # A debounced call's signal to its window.
        await dispatch_after_commit(self._sessionmaker, self._temporal, outbox_ids)
        return prepared

    @activity.defn(name=debounce.SETTLE_ACTIVITY)
    async def settle_debounce(self, request: SettleDebounce) -> DebounceSettled:
        async with tenant_session(request.firm_id, self._sessionmaker) as session:
            settled = await admission.settle_debounce(
                session, request.automation_id, request.run_ids
            )
            outbox_ids = pop_outbox_ids(session)
        # The winner's start, right away rather than at the relay's next pass.
        await dispatch_after_commit(self._sessionmaker, self._temporal, outbox_ids)
        return settled
