"""The client import's activities: each opens a unit of work of the import's firm
(activities/unit_of_work.firm_transaction), runs one step of services/client_imports.py in
it and commits it."""

import contextlib
import logging
import uuid
from collections.abc import Iterator

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.heartbeat import heartbeating
from activities.unit_of_work import firm_transaction
from core.errors import AppError
from core.principal import Principal
from core.temporal import ClientProvider
from services import client_imports
from workflows.clients.client_import.contracts import (
    BATCH_ACTIVITY,
    FINISH_ACTIVITY,
    REJECTED,
    STAGE_ACTIVITY,
    FinishImportInput,
    FinishImportResult,
    ImportBatchInput,
    ImportBatchResult,
    ImportProgress,
    StageRowsInput,
    StageRowsResult,
    workflow_id,
)

log = logging.getLogger("firmflow.imports")


@contextlib.contextmanager
def _rejections() -> Iterator[None]:
    """A rule the import breaks (it is gone, already finished, its file unreadable) will
    not heal by retrying; its detail is written for people, so the importer may see it."""
    try:
        yield
    except AppError as exc:
        raise ApplicationError(exc.detail, type=REJECTED, non_retryable=True) from exc


def _principal(firm_id: uuid.UUID, import_id: uuid.UUID) -> Principal:
    # Audit events of the import carry its workflow id where a request id would be.
    return Principal.system(firm_id, request_id=workflow_id(import_id))


def _describe(progress: ImportProgress) -> str:
    return (
        f"processed {progress.processed}/{progress.total}, created {progress.created}, "
        f"skipped {progress.skipped}, invalid {progress.invalid}"
    )


class ClientImportActivities:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        temporal: ClientProvider,
        *,
        batch_size: int,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._temporal = temporal
        self._batch_size = batch_size

    @activity.defn(name=STAGE_ACTIVITY)
    async def stage(self, input: StageRowsInput) -> StageRowsResult:
        principal = _principal(input.firm_id, input.import_id)
        with _rejections():
            async with heartbeating(), firm_transaction(self._sessionmaker, input.firm_id) as s:
                result = await client_imports.stage_rows(s, principal, import_id=input.import_id)
        log.info(
            "client import %s: staged %d rows (%s)",
            input.import_id,
            result.decided,
            _describe(result.progress),
        )
        return StageRowsResult(progress=result.progress, remaining=result.remaining)

    @activity.defn(name=BATCH_ACTIVITY)
    async def import_batch(self, input: ImportBatchInput) -> ImportBatchResult:
        principal = _principal(input.firm_id, input.import_id)
        with _rejections():
            async with (
                heartbeating(),
                firm_transaction(self._sessionmaker, input.firm_id, self._temporal) as s,
            ):
                result = await client_imports.import_batch(
                    s, principal, import_id=input.import_id, batch_size=self._batch_size
                )
        log.info(
            "client import %s: batch committed, %d rows (%s)",
            input.import_id,
            result.decided,
            _describe(result.progress),
        )
        return ImportBatchResult(progress=result.progress, remaining=result.remaining)

    @activity.defn(name=FINISH_ACTIVITY)
    async def finish(self, input: FinishImportInput) -> FinishImportResult:
        principal = _principal(input.firm_id, input.import_id)
        with _rejections():
            async with firm_transaction(self._sessionmaker, input.firm_id) as s:
                result = await client_imports.finish_import(
                    s, principal, import_id=input.import_id, failure_reason=input.failure_reason
                )
        log.info(
            "client import %s: %s (%s)",
            input.import_id,
            result.progress.status,
            _describe(result.progress),
        )
        return FinishImportResult(progress=result.progress)
