"""The text extraction's activity: read a version's bytes from storage, extract the text in
a thread, and store it with the search vector in one unit of work of the version's firm."""

import asyncio
import logging
import tempfile

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity

from activities.heartbeat import heartbeating
from activities.unit_of_work import firm_transaction
from models import TextStatus
from providers.storage import ObjectMissing, Storage
from services.documents import text
from workflows.documents.text.contracts import EXTRACT_ACTIVITY, ExtractInput, ExtractResult

log = logging.getLogger("firmflow.documents.text")

# Bytes of a file kept in memory while it is read; a larger file goes to a temporary file.
_SPOOL_BYTES = 8 * 1024 * 1024


class DocumentTextActivities:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        storage: Storage,
        *,
        concurrency: int = 1,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._storage = storage
        # Parsing is CPU-bound and holds the GIL for most of its time: more parses at once
        # than this would slow the worker's other activities and workflow tasks, not add
        # throughput.
        self._parsing = asyncio.Semaphore(concurrency)

    @activity.defn(name=EXTRACT_ACTIVITY)
    async def extract(self, input: ExtractInput) -> ExtractResult:
        async with firm_transaction(self._sessionmaker, input.firm_id) as session:
            source = await text.text_source(session, input.firm_id, input.version_id)
        if source is None:
            return ExtractResult(outcome="gone")
        async with heartbeating():
            extracted = await self._extract(source)
            async with firm_transaction(self._sessionmaker, input.firm_id) as session:
                found = await text.record_text(session, input.firm_id, input.version_id, extracted)
        if not found:
            return ExtractResult(outcome="gone")
        log.info(
            "version %s: text %s (%d characters%s)",
            input.version_id,
            extracted.status.value,
            len(extracted.body or ""),
            ", truncated" if extracted.truncated else "",
        )
        return ExtractResult(
            outcome=extracted.status.value,
            characters=len(extracted.body or ""),
            truncated=extracted.truncated,
            detail=extracted.detail,
        )

    async def _extract(self, source: text.TextSource) -> text.Extracted:
        if not text.extractable(source.content_type):
            return text.unsupported(source.content_type)
        limit = text.read_limit(source.content_type)
        with tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES) as spool:
            try:
                async for chunk in self._storage.read(source.storage_key):
                    spool.write(chunk)
                    if limit is not None and spool.tell() >= limit:
                        break
            except ObjectMissing:
                return text.Extracted(TextStatus.failed, detail="the file is missing from storage")
            spool.seek(0)
            async with self._parsing:
                return await asyncio.to_thread(text.extract_text, source.content_type, spool)
