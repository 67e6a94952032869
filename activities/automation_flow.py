"""Flow-control activities of automation runs (part E builds them)."""

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from workflows.automation.contracts import (
    PREPARE_CHILD_RUN_ACTIVITY,
    ChildRunPrepared,
    ChildRunRequest,
)

SETTLE_DEBOUNCE_ACTIVITY = "automation.settle_debounce"


class FlowActivities:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    @activity.defn(name=PREPARE_CHILD_RUN_ACTIVITY)
    async def prepare_child_run(self, request: ChildRunRequest) -> ChildRunPrepared:
        raise NotImplementedError

    @activity.defn(name=SETTLE_DEBOUNCE_ACTIVITY)
    async def settle_debounce(self, request: dict[str, object]) -> None:
        raise NotImplementedError
