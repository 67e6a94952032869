"""The foreach child's activity: it writes the step records of items whose control steps
had no action activity to carry them (an item of set/condition steps only), in batches,
so 10,000 items never travel back to the run in one payload."""

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.unit_of_work import firm_transaction
from services.automations import run_records
from services.automations.step_errors import StepInvalid
from workflows.automation.run.contracts import STEP_INVALID
from workflows.automation.run.foreach.contracts import WRITE_RECORDS_ACTIVITY, RecordsToWrite


class ForeachActivities:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    @activity.defn(name=WRITE_RECORDS_ACTIVITY)
    async def write_records(self, batch: RecordsToWrite) -> None:
        """Idempotent: a record an earlier attempt wrote is left as it is."""
        try:
            async with firm_transaction(self._sessionmaker, batch.firm_id) as session:
                await run_records.require_run(session, batch.run_id)
                await run_records.write_records(session, batch.firm_id, batch.run_id, batch.records)
        except StepInvalid as exc:
            raise ApplicationError(exc.message, type=STEP_INVALID, non_retryable=True) from None
