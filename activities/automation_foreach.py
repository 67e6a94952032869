"""The foreach child's activity: it writes the step records of items whose control steps
had no action activity to carry them (an item of set/condition steps only), in batches,
so 10,000 items never travel back to the run in one payload."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from core.db import tenant_session
from models import AutomationRun
from services.automations import run_records
from workflows.automation.contracts import STEP_INVALID
from workflows.automation.foreach_contracts import WRITE_RECORDS_ACTIVITY, RecordsToWrite


class ForeachActivities:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    @activity.defn(name=WRITE_RECORDS_ACTIVITY)
    async def write_records(self, batch: RecordsToWrite) -> None:
        """Idempotent: a record an earlier attempt wrote is left as it is."""
        async with tenant_session(batch.firm_id, self._sessionmaker) as session:
            found = await session.scalar(
                select(AutomationRun.id).where(AutomationRun.id == batch.run_id)
            )
            if found is None:
                raise ApplicationError(
                    "No automation run with this id in this firm",
                    type=STEP_INVALID,
                    non_retryable=True,
                )
            await run_records.write_records(session, batch.firm_id, batch.run_id, batch.records)
