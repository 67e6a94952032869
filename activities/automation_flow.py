"""Flow-control activities of automation runs: preparing a called or scheduled run, and
settling a closed debounce window. The rules live in services.automations.child_runs and
services.automations.admission; these open the firm's tenant transaction and dispatch what
it enqueued once it commits."""

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.unit_of_work import firm_transaction
from core.temporal import ClientProvider
from services.automations import admission, child_runs
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
        # A debounced call's signal to its window goes out right after the commit.
        async with firm_transaction(self._sessionmaker, request.firm_id, self._temporal) as session:
            return await child_runs.prepare_child_run(session, request)

    @activity.defn(name=debounce.SETTLE_ACTIVITY)
    async def settle_debounce(self, request: SettleDebounce) -> DebounceSettled:
        # The winner's start, right away rather than at the relay's next pass.
        async with firm_transaction(self._sessionmaker, request.firm_id, self._temporal) as session:
            return await admission.settle_debounce(session, request.automation_id, request.run_ids)
