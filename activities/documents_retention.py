"""The retention sweep's activities: list the firms with anything to do (a cross-firm read),
then per firm the report and the deletions (``services.documents.sweep``). Each
transaction is a unit of work of its own: the deletions commit batch by batch, and the
blobs they freed are purged in a transaction after them."""

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.heartbeat import heartbeating
from activities.unit_of_work import firm_transaction
from providers.storage import Storage
from services.documents import sweep
from workflows.documents.retention.contracts import (
    DELETE_ACTIVITY,
    LIST_FIRMS_ACTIVITY,
    REPORT_ACTIVITY,
    DeleteResult,
    ListFirmsInput,
    ListFirmsResult,
    ReportResult,
    SweepFirmInput,
)


class RetentionActivities:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], storage: Storage) -> None:
        self._sessionmaker = sessionmaker
        self._storage = storage

    @activity.defn(name=LIST_FIRMS_ACTIVITY)
    async def list_firms(self, input: ListFirmsInput) -> ListFirmsResult:
        async with self._sessionmaker() as session, session.begin():
            firm_ids = await sweep.firms_with_work(
                session, after=input.after_firm_id, limit=input.limit
            )
        return ListFirmsResult(firm_ids=firm_ids)

    @activity.defn(name=REPORT_ACTIVITY)
    async def report(self, input: SweepFirmInput) -> ReportResult:
        async with firm_transaction(self._sessionmaker, input.firm_id) as session:
            reported = await sweep.report(session, input.firm_id, input.at)
        return ReportResult(
            reported=reported.reported,
            new=reported.new,
            dropped=reported.dropped,
            deletable=reported.deletable,
        )

    @activity.defn(name=DELETE_ACTIVITY)
    async def delete(self, input: SweepFirmInput) -> DeleteResult:
        deleted = 0
        async with heartbeating():
            while True:
                async with firm_transaction(self._sessionmaker, input.firm_id) as session:
                    batch = await sweep.delete_due(
                        session, input.firm_id, input.at, sweep_id=input.sweep_id
                    )
                deleted += len(batch.deletions)
                if not batch.more:
                    break
            # After the rows are committed: the blobs only the deleted versions used.
            async with firm_transaction(self._sessionmaker, input.firm_id) as session:
                blobs = await sweep.purge_blobs(session, self._storage, input.firm_id, input.at)
        return DeleteResult(deleted=deleted, blobs_deleted=blobs)
