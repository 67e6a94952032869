"""The retention sweep's steps, one firm at a time (``RetentionSweepWorkflow`` runs them
nightly; the preview answers what the next run will do without writing anything).

1. **report**: every document due (``services.documents.retention.due_documents``) gets a
   ``RetentionCandidate``: reported now, deleted after the grace days of its policy (none
   for the bin, whose 30 days were the grace). Candidates no longer due (a hold placed, the
   document restored, the policy changed or deleted) are dropped.
2. **delete**: candidates past their grace, still due and not held, go: the document row and
   its versions, each recorded as a ``DocumentDeletion`` naming the blobs its versions used.
3. **purge blobs**: in a later transaction, after the rows are committed, the blobs those
   deletions named that no version references any more are deleted, rows and stored
   objects (``services.documents.blobs.delete_unreferenced``), and written into the
   deletion records.

Every step is safe to run again. A repeated report finds the candidates it wrote; a
repeated delete finds none left past their grace; a deletion keeps the blobs it still has
to purge (``details.pending_blob_ids``) until a purge transaction commits, so a purge that
failed (storage down, a crash between the object deletions and the commit) is redone by the
next attempt, and a purge that committed leaves nothing to delete twice.
"""

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import delete, func, select, union, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import SystemPurpose, system_scope
from core.pagination import Page, PageParams, keyset, read_page
from core.principal import Principal
from models import (
    Client,
    Document,
    DocumentBlob,
    DocumentDeletion,
    DocumentVersion,
    RetentionCandidate,
    RetentionPolicy,
)
from providers.storage import Storage
from services import audit
from services.documents import blobs
from services.documents.repository import BLOBS, DOCUMENTS, VERSIONS
from services.documents.retention import Due, due_documents
from services.repository import FirmScoped

T = TypeVar("T")

CANDIDATES = FirmScoped(RetentionCandidate, "retention candidate")
DELETIONS = FirmScoped(DocumentDeletion, "document deletion")

# Documents deleted in one transaction: a firm with thousands due commits as it goes.
DELETE_BATCH = 100
# How far back (in real time: when the deletion was written) a purge looks for deletions
# whose blobs are still to go; a purge failing for longer needs ops (docs/operations.md).
PURGE_LOOKBACK = timedelta(days=30)
PENDING = "pending_blob_ids"


@dataclass(frozen=True)
class Planned:
    """A due document, when the sweep first reported it (or reports it now) and when it
    may be deleted."""

    due: Due
    reported_at: datetime
    delete_after: datetime


@dataclass(frozen=True)
class Plan:
    # Every document the report holds after the sweep's report step.
    report: list[Planned]
    # Those of them the delete step deletes.
    delete: list[Planned]


async def plan(session: AsyncSession, firm_id: uuid.UUID, now: datetime) -> Plan:
    """What a sweep at ``now`` reports and deletes for the firm; writes nothing (the
    preview is this, and the sweep's steps carry it out)."""
    due = await due_documents(session, firm_id, now)
    reported: dict[uuid.UUID, datetime] = {
        document_id: reported_at
        for document_id, reported_at in await session.execute(
            select(RetentionCandidate.document_id, RetentionCandidate.reported_at).where(
                CANDIDATES.owned_by(firm_id)
            )
        )
    }
    report = []
    for row in due:
        first = reported.get(row.document_id, now)
        report.append(Planned(row, first, first + timedelta(days=row.grace_days)))
    return Plan(report, [p for p in report if p.delete_after <= now])


@dataclass(frozen=True)
class Reported:
    reported: int
    new: int
    dropped: int
    # Past their grace: what the delete step will take.
    deletable: int


async def report(session: AsyncSession, firm_id: uuid.UUID, now: datetime) -> Reported:
    """Step 1: bring the firm's candidates in line with what is due at ``now``."""
    current = await plan(session, firm_id, now)
    known = set(
        await session.scalars(
            select(RetentionCandidate.document_id).where(CANDIDATES.owned_by(firm_id))
        )
    )
    if current.report:
        stmt = insert(RetentionCandidate).values(
            [
                {
                    "id": uuid.uuid4(),
                    "firm_id": firm_id,
                    "document_id": p.due.document_id,
                    "policy_id": p.due.policy_id,
                    "reported_at": p.reported_at,
                    "delete_after": p.delete_after,
                }
                for p in current.report
            ]
        )
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=[RetentionCandidate.firm_id, RetentionCandidate.document_id],
                set_={
                    "policy_id": stmt.excluded.policy_id,
                    "delete_after": stmt.excluded.delete_after,
                },
            )
        )
    due_ids = [p.due.document_id for p in current.report]
    dropped = await session.scalars(
        delete(RetentionCandidate)
        .where(CANDIDATES.owned_by(firm_id), RetentionCandidate.document_id.not_in(due_ids))
        .returning(RetentionCandidate.document_id)
    )
    outcome = Reported(
        reported=len(current.report),
        new=len(set(due_ids) - known),
        dropped=len(dropped.all()),
        deletable=len(current.delete),
    )
    if outcome.new or outcome.dropped:
        await audit.record(
            session,
            Principal.system(firm_id),
            action="retention.reported",
            record_type="retention_report",
            record_id=None,
            after={"reported": outcome.reported, "new": outcome.new, "dropped": outcome.dropped},
        )
    return outcome


async def _lock(
    session: AsyncSession, firm_id: uuid.UUID, document_ids: Sequence[uuid.UUID]
) -> None:
    """Lock the documents, and share-lock their clients, before checking for holds: placing
    a hold locks its subject FOR UPDATE (``services.documents.holds``), so it waits for this
    transaction or this one waits for it and then sees the hold."""
    client_ids = await session.scalars(
        DOCUMENTS.select(firm_id)
        .with_only_columns(Document.client_id)
        .where(Document.id.in_(document_ids))
        .order_by(Document.id)
        .with_for_update()
    )
    present = sorted({c for c in client_ids if c is not None})
    if present:
        await session.execute(
            select(Client.id)
            .where(Client.firm_id == firm_id, Client.id.in_(present))
            .order_by(Client.id)
            .with_for_update(read=True)
        )


async def _still_due(
    session: AsyncSession, firm_id: uuid.UUID, now: datetime
) -> tuple[list[tuple[Due, datetime]], int]:
    """The next batch of candidates past their grace that are still due and not held, under
    lock, each with when it was reported; and how many candidates were looked at. Those no
    longer due (held, restored since the report) are dropped and those whose grace grew
    since are moved on, so the next batch does not pick them again."""
    picked = {
        document_id: reported_at
        for document_id, reported_at in await session.execute(
            select(RetentionCandidate.document_id, RetentionCandidate.reported_at)
            .where(CANDIDATES.owned_by(firm_id), RetentionCandidate.delete_after <= now)
            .order_by(RetentionCandidate.delete_after, RetentionCandidate.document_id)
            .limit(DELETE_BATCH)
        )
    }
    looked_at = len(picked)
    if not picked:
        return [], 0
    await _lock(session, firm_id, sorted(picked))
    batch = []
    for row in await due_documents(session, firm_id, now, among=picked):
        # The grace as the policy says now, counted from the first report.
        delete_after = picked.pop(row.document_id) + timedelta(days=row.grace_days)
        if delete_after <= now:
            batch.append((row, delete_after - timedelta(days=row.grace_days)))
            continue
        await session.execute(
            update(RetentionCandidate)
            .where(CANDIDATES.owned_by(firm_id), RetentionCandidate.document_id == row.document_id)
            .values(delete_after=delete_after)
        )
    if picked:
        await session.execute(
            delete(RetentionCandidate).where(
                CANDIDATES.owned_by(firm_id), RetentionCandidate.document_id.in_(list(picked))
            )
        )
    return batch, looked_at


async def _versions_of(
    session: AsyncSession, firm_id: uuid.UUID, ids: list[uuid.UUID]
) -> tuple[dict[uuid.UUID, int], dict[uuid.UUID, list[uuid.UUID]]]:
    """Per document: how many versions it has, and the blobs they use (each once)."""
    used: dict[uuid.UUID, list[uuid.UUID]] = {document_id: [] for document_id in ids}
    counts: dict[uuid.UUID, int] = dict.fromkeys(ids, 0)
    for document_id, blob_id in await session.execute(
        VERSIONS.select(firm_id)
        .with_only_columns(DocumentVersion.document_id, DocumentVersion.blob_id)
        .where(DocumentVersion.document_id.in_(ids))
        .order_by(DocumentVersion.document_id, DocumentVersion.number)
    ):
        counts[document_id] += 1
        if blob_id not in used[document_id]:
            used[document_id].append(blob_id)
    return counts, used


@dataclass(frozen=True)
class Deleted:
    deletions: list[DocumentDeletion]
    # A full batch was looked at: call again for the next.
    more: bool


async def delete_due(
    session: AsyncSession, firm_id: uuid.UUID, now: datetime, *, sweep_id: str
) -> Deleted:
    """Step 2, one batch of at most ``DELETE_BATCH`` candidates (call again while ``more``):
    delete the documents past their grace, still due and not held, and record each."""
    batch, looked_at = await _still_due(session, firm_id, now)
    more = looked_at == DELETE_BATCH
    if not batch:
        return Deleted([], more)
    ids = [row.document_id for row, _ in batch]
    counts, used = await _versions_of(session, firm_id, ids)
    deletions = [
        DocumentDeletion(
            firm_id=firm_id,
            document_id=row.document_id,
            title=row.title,
            document_type=row.document_type,
            client_id=row.client_id,
            policy_id=row.policy_id,
            reason=row.reason,
            versions=counts[row.document_id],
            blobs_deleted=[],
            sweep_id=sweep_id,
            details={
                "due_at": row.due_at.isoformat(),
                "reported_at": reported_at.isoformat(),
                PENDING: [str(blob_id) for blob_id in used[row.document_id]],
            },
        )
        for row, reported_at in batch
    ]
    session.add_all(deletions)
    # The versions go with the row (ON DELETE CASCADE), as do its candidate and the
    # released holds that named it.
    await session.execute(delete(Document).where(DOCUMENTS.owned_by(firm_id), Document.id.in_(ids)))
    await session.flush()
    for deletion in deletions:
        await audit.record(
            session,
            Principal.system(firm_id),
            action="document.purged",
            record_type="document",
            record_id=deletion.document_id,
            before={
                "title": deletion.title,
                "document_type": deletion.document_type,
                "reason": deletion.reason,
                "policy_id": str(deletion.policy_id) if deletion.policy_id else None,
                "versions": deletion.versions,
            },
        )
    return Deleted(deletions, more)


async def purge_blobs(
    session: AsyncSession, storage: Storage, firm_id: uuid.UUID, now: datetime
) -> int:
    """Step 3: delete the blobs the firm's recent deletions named that no version uses any
    more; returns how many went. A blob still used (by another version or document) stays,
    and goes with the last deletion that names it."""
    pending = list(
        await session.scalars(
            DELETIONS.select(firm_id)
            .where(
                DocumentDeletion.deleted_at >= func.now() - PURGE_LOOKBACK,
                DocumentDeletion.details.has_key(PENDING),
            )
            .order_by(DocumentDeletion.deleted_at, DocumentDeletion.id)
            .with_for_update()
        )
    )
    if not pending:
        return 0
    blob_ids = list(
        dict.fromkeys(uuid.UUID(b) for deletion in pending for b in deletion.details[PENDING])
    )
    sha256_of: dict[uuid.UUID, str] = {
        blob_id: sha256
        for blob_id, sha256 in await session.execute(
            BLOBS.select(firm_id)
            .with_only_columns(DocumentBlob.id, DocumentBlob.sha256)
            .where(DocumentBlob.id.in_(blob_ids))
        )
    }
    gone = set(await blobs.delete_unreferenced(session, storage, firm_id, blob_ids))
    claimed: set[str] = set()
    for deletion in pending:
        mine = [
            sha256_of[uuid.UUID(b)]
            for b in deletion.details[PENDING]
            if sha256_of.get(uuid.UUID(b)) in gone - claimed
        ]
        claimed.update(mine)
        deletion.blobs_deleted = [*deletion.blobs_deleted, *mine]
        deletion.details = {k: v for k, v in deletion.details.items() if k != PENDING}
    await session.flush()
    return len(gone)


# Across firms ----------------------------------------------------------------------------------


async def firms_with_work(
    session: AsyncSession, *, after: uuid.UUID | None, limit: int
) -> list[uuid.UUID]:
    """The next ``limit`` firms (by id, after ``after``) that have a retention policy, a
    document in the bin or a reported candidate: the only firms a sweep can have anything
    to do for. Reads across firms (``SystemPurpose.retention_sweep``)."""
    firms = union(
        select(RetentionPolicy.firm_id),
        select(Document.firm_id).where(Document.deleted_at.is_not(None)),
        select(RetentionCandidate.firm_id),
    ).subquery()
    stmt = select(firms.c.firm_id).order_by(firms.c.firm_id).limit(limit)
    if after is not None:
        stmt = stmt.where(firms.c.firm_id > after)
    async with system_scope(session, SystemPurpose.retention_sweep):
        return list(await session.scalars(stmt))


async def list_deletions(
    session: AsyncSession,
    principal: Principal,
    *,
    page: PageParams,
    into: Callable[[dict[str, Any]], T],
) -> Page[T]:
    """The sweep's deletion records, newest first."""
    stmt = select(
        *DocumentDeletion.__table__.columns,
        DocumentDeletion.deleted_at.label("created_at"),
    ).where(DELETIONS.owned_by(principal))
    return await read_page(
        session, keyset(stmt, DocumentDeletion.deleted_at, DocumentDeletion.id, page), page, into
    )
