"""Client imports from CSV: accepting an upload, the steps the import workflow runs
(stage the rows, import a batch, finish), and the reports the API shows.

An upload is checked in full (size, encoding, CSV syntax, header, row count) before
anything is stored; then the import row, its audit event and the outbox message that
starts ``ClientImportWorkflow`` are written in one transaction. Each later step runs in a
transaction of its own and records every row's outcome together with the clients it
creates, which is what lets a retried step resume without creating a client twice.

A batch is at most ``PROGRESS_ROWS`` rows and ends early once ``PROGRESS_SECONDS`` have
passed (checked every ``CHUNK_ROWS`` rows), so the progress a person watches (the import's
row counts, and the workflow's ``progress`` query, both updated when a batch commits)
moves at least every 100 rows or about every 2 seconds, whatever the batch size setting.
"""

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import undefer

from core.errors import Conflict, PayloadTooLarge
from core.pagination import Page, PageParams, keyset, to_page
from core.principal import Principal
from models import Client, ClientImport, ClientImportRow, ImportStatus, RowOutcome
from services import audit, clients, csv_import
from services.clients import CLIENTS, ClientFields
from services.outbox import writer as outbox
from services.repository import FirmScoped
from workflows.clients.client_import.contracts import (
    WORKFLOW_NAME,
    ClientImportInput,
    ImportProgress,
    workflow_id,
)

ERRORS_SHOWN = 1000
PROGRESS_ROWS = 100
PROGRESS_SECONDS = 2.0
CHUNK_ROWS = 25
FILENAME_MAX = 255
_FINISHED = (ImportStatus.completed, ImportStatus.failed)
_PROBLEMS = (RowOutcome.skipped, RowOutcome.invalid)
IMPORTS = FirmScoped(ClientImport, "client import")
IMPORT_ROWS = FirmScoped(ClientImportRow, "client import row")


@dataclass(frozen=True)
class ImportSummary:
    client_import: ClientImport
    progress: ImportProgress


@dataclass(frozen=True)
class ImportReport(ImportSummary):
    # The first ERRORS_SHOWN skipped or invalid rows, by line.
    errors: list[ClientImportRow]


@dataclass(frozen=True)
class StepResult:
    progress: ImportProgress
    # Rows still to import.
    remaining: int
    # Rows this step decided.
    decided: int = 0


def _size(size: int) -> str:
    megabytes = size / (1024 * 1024)
    return f"{megabytes:g} MB ({size:,} bytes)" if megabytes >= 1 else f"{size:,} bytes"


async def create_import(
    session: AsyncSession,
    principal: Principal,
    *,
    filename: str | None,
    data: bytes,
    max_bytes: int,
    max_rows: int,
) -> ImportSummary:
    """Accept an upload (``data`` may be one byte longer than ``max_bytes``, which is how
    a caller reading at most ``max_bytes + 1`` bytes shows the file is too large)."""
    if len(data) > max_bytes:
        raise PayloadTooLarge(
            f"The file is larger than {_size(max_bytes)}, the most one import accepts; "
            "split it into smaller files."
        )
    # Parsing 20 MB takes a while: off the event loop, so other requests keep flowing.
    table = await asyncio.to_thread(csv_import.read_csv, data, max_rows=max_rows)
    client_import = ClientImport(
        id=uuid.uuid4(),
        firm_id=principal.firm_id,
        created_by=principal.user_id,
        filename=(filename or "import.csv")[:FILENAME_MAX],
        status=ImportStatus.pending,
        source=data,
        unknown_columns=table.unknown_columns,
        total_rows=len(table.rows),
    )
    session.add(client_import)
    await session.flush()
    await audit.record(
        session,
        principal,
        action="client_import.created",
        record_type="client_import",
        record_id=client_import.id,
        after={
            "filename": client_import.filename,
            "total_rows": client_import.total_rows,
            "unknown_columns": table.unknown_columns,
        },
    )
    await outbox.enqueue_message(
        session,
        principal.firm_id,
        outbox.start_workflow(
            WORKFLOW_NAME,
            workflow_id(client_import.id),
            ClientImportInput(firm_id=principal.firm_id, import_id=client_import.id),
        ),
    )
    await session.refresh(client_import, ["created_at", "updated_at"])
    return ImportSummary(client_import, _progress(client_import, Counter()))


async def _get(
    session: AsyncSession,
    principal: Principal,
    import_id: uuid.UUID,
    *,
    lock: bool = False,
    with_source: bool = False,
) -> ClientImport:
    # lock: one step of an import at a time, even if a timed-out attempt is still running.
    return await IMPORTS.get_or_404(
        session,
        principal,
        import_id,
        lock=lock,
        options=[undefer(ClientImport.source)] if with_source else [],
    )


async def _counts(
    session: AsyncSession, principal: Principal, import_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Counter[RowOutcome]]:
    rows = await session.execute(
        select(ClientImportRow.import_id, ClientImportRow.outcome, func.count())
        .where(
            IMPORT_ROWS.owned_by(principal),
            ClientImportRow.import_id.in_(import_ids),
        )
        .group_by(ClientImportRow.import_id, ClientImportRow.outcome)
    )
    counts: dict[uuid.UUID, Counter[RowOutcome]] = {i: Counter() for i in import_ids}
    for import_id, outcome, count in rows:
        counts[import_id][outcome] = count
    return counts


def _progress(client_import: ClientImport, counts: Counter[RowOutcome]) -> ImportProgress:
    created = counts[RowOutcome.created]
    skipped = counts[RowOutcome.skipped]
    invalid = counts[RowOutcome.invalid]
    return ImportProgress(
        status=client_import.status.value,
        total=client_import.total_rows,
        processed=created + skipped + invalid,
        created=created,
        skipped=skipped,
        invalid=invalid,
    )


async def _step_result(
    session: AsyncSession, principal: Principal, client_import: ClientImport, decided: int = 0
) -> StepResult:
    counts = (await _counts(session, principal, [client_import.id]))[client_import.id]
    return StepResult(
        progress=_progress(client_import, counts),
        remaining=counts[RowOutcome.pending],
        decided=decided,
    )


async def get_report(
    session: AsyncSession, principal: Principal, import_id: uuid.UUID
) -> ImportReport:
    client_import = await _get(session, principal, import_id)
    counts = (await _counts(session, principal, [import_id]))[import_id]
    errors = await session.scalars(
        IMPORT_ROWS.select(principal)
        .where(
            ClientImportRow.import_id == import_id,
            ClientImportRow.outcome.in_(_PROBLEMS),
        )
        .order_by(ClientImportRow.line)
        .limit(ERRORS_SHOWN)
    )
    return ImportReport(client_import, _progress(client_import, counts), list(errors))


async def list_imports(
    session: AsyncSession, principal: Principal, *, page: PageParams
) -> Page[ImportSummary]:
    stmt = IMPORTS.select(principal)
    rows = (
        await session.scalars(keyset(stmt, ClientImport.created_at, ClientImport.id, page))
    ).all()
    imports = to_page(rows, page)
    counts = await _counts(session, principal, [i.id for i in imports.items])
    return Page(
        items=[ImportSummary(i, _progress(i, counts[i.id])) for i in imports.items],
        next_cursor=imports.next_cursor,
    )


async def stage_rows(
    session: AsyncSession, principal: Principal, *, import_id: uuid.UUID
) -> StepResult:
    """Write one row per data row of the stored file with its outcome as far as the file
    alone tells (invalid, duplicate of an earlier row, or pending), then drop the file.
    Running it again finds the file gone and changes nothing."""
    client_import = await _get(session, principal, import_id, lock=True, with_source=True)
    if client_import.status in _FINISHED or client_import.source is None:
        return await _step_result(session, principal, client_import)
    # Seconds of CPU for a large file: in a thread, so the activity keeps heartbeating.
    assessed = await asyncio.to_thread(
        _assess, client_import.source, max_rows=client_import.total_rows
    )
    now = datetime.now(UTC)
    if assessed:
        await session.execute(
            insert(ClientImportRow).on_conflict_do_nothing(),
            [
                {
                    "firm_id": principal.firm_id,
                    "import_id": import_id,
                    "line": row.line,
                    "data": row.data,
                    "outcome": row.outcome,
                    "reason": row.reason,
                    "processed_at": None if row.outcome is RowOutcome.pending else now,
                }
                for row in assessed
            ],
        )
    client_import.source = None
    client_import.status = ImportStatus.running
    await session.flush()
    await audit.record(
        session,
        principal,
        action="client_import.started",
        record_type="client_import",
        record_id=import_id,
        before={"status": ImportStatus.pending.value},
        after={"status": ImportStatus.running.value, "rows": len(assessed)},
    )
    return await _step_result(session, principal, client_import, decided=len(assessed))


def _assess(source: bytes, *, max_rows: int) -> list[csv_import.RowAssessment]:
    table = csv_import.read_csv(source, max_rows=max_rows)
    return csv_import.assess_rows(table.rows, delimiter=table.delimiter)


async def _taken(
    session: AsyncSession, principal: Principal, fields: Sequence[ClientFields]
) -> tuple[set[str], set[str]]:
    """Which of these emails and external references the firm's clients already hold."""
    emails = {f.email for f in fields if f.email is not None}
    refs = {f.external_ref for f in fields if f.external_ref is not None}
    taken_emails: set[str] = set()
    taken_refs: set[str] = set()
    if emails:
        taken_emails = set(
            await session.scalars(
                select(func.lower(Client.email)).where(
                    CLIENTS.owned_by(principal), func.lower(Client.email).in_(emails)
                )
            )
        )
    if refs:
        found = await session.scalars(
            select(Client.external_ref).where(
                CLIENTS.owned_by(principal), Client.external_ref.in_(refs)
            )
        )
        taken_refs = {ref for ref in found if ref is not None}
    return taken_emails, taken_refs


async def import_batch(
    session: AsyncSession,
    principal: Principal,
    *,
    import_id: uuid.UUID,
    batch_size: int,
    time_budget: float = PROGRESS_SECONDS,
) -> StepResult:
    """Create the clients of the next pending rows (by line), at most ``batch_size`` and
    ``PROGRESS_ROWS`` of them, and record each row's outcome; a row whose email or
    external reference a client of the firm already has is skipped and says which. Once
    ``time_budget`` seconds have passed the batch stops after its current chunk of
    ``CHUNK_ROWS`` rows; the rows it did not reach stay pending for the next batch."""
    started = time.monotonic()
    client_import = await _get(session, principal, import_id, lock=True)
    if client_import.status is not ImportStatus.running:
        raise Conflict(f"This import is {client_import.status.value}, not running")
    rows = list(
        await session.scalars(
            IMPORT_ROWS.select(principal)
            .where(
                ClientImportRow.import_id == import_id,
                ClientImportRow.outcome == RowOutcome.pending,
            )
            .order_by(ClientImportRow.line)
            .limit(min(batch_size, PROGRESS_ROWS))
        )
    )
    decided = 0
    for start in range(0, len(rows), CHUNK_ROWS):
        chunk = rows[start : start + CHUNK_ROWS]
        await _import_rows(session, principal, chunk)
        decided += len(chunk)
        if time.monotonic() - started >= time_budget:
            break
    await session.flush()
    return await _step_result(session, principal, client_import, decided=decided)


async def _import_rows(
    session: AsyncSession, principal: Principal, rows: Sequence[ClientImportRow]
) -> None:
    now = datetime.now(UTC)
    valid: list[tuple[ClientImportRow, ClientFields]] = []
    for row in rows:
        row.processed_at = now
        fields = csv_import.validate_row(row.data)
        if isinstance(fields, str):
            row.outcome, row.reason = RowOutcome.invalid, fields[: csv_import.REASON_MAX]
        else:
            valid.append((row, fields))
    taken_emails, taken_refs = await _taken(session, principal, [f for _, f in valid])
    to_create: list[tuple[ClientImportRow, ClientFields]] = []
    for row, fields in valid:
        if fields.email is not None and fields.email in taken_emails:
            row.outcome, row.reason = RowOutcome.skipped, "a client with this email exists"
        elif fields.external_ref is not None and fields.external_ref in taken_refs:
            row.outcome = RowOutcome.skipped
            row.reason = "a client with this external_ref exists"
        else:
            to_create.append((row, fields))
    created_ids = await clients.insert_clients(session, principal, [f for _, f in to_create])
    for (row, _), client_id in zip(to_create, created_ids, strict=True):
        if client_id is None:
            # Another client took the email or reference between the check and the insert.
            row.outcome = RowOutcome.skipped
            row.reason = "a client with this email or external_ref exists"
        else:
            row.outcome, row.client_id = RowOutcome.created, client_id


async def finish_import(
    session: AsyncSession,
    principal: Principal,
    *,
    import_id: uuid.UUID,
    failure_reason: str | None,
) -> StepResult:
    """Mark the import completed, or failed with ``failure_reason``; a finished import
    stays as it is."""
    client_import = await _get(session, principal, import_id, lock=True)
    if client_import.status in _FINISHED:
        return await _step_result(session, principal, client_import)
    before = client_import.status.value
    client_import.status = ImportStatus.failed if failure_reason else ImportStatus.completed
    client_import.failure_reason = failure_reason
    client_import.finished_at = datetime.now(UTC)
    client_import.source = None
    await session.flush()
    result = await _step_result(session, principal, client_import)
    await audit.record(
        session,
        principal,
        action=f"client_import.{client_import.status.value}",
        record_type="client_import",
        record_id=import_id,
        before={"status": before},
        after=result.progress.model_dump(),
    )
    return result
