"""Retention: the sweep's report, grace and deletions across a policy boundary with legal
holds in place, blobs shared by versions and documents, the bin's 30 days, a policy that
counts from the client's archiving, the preview against what the sweep then does, the
deletion records, and the delete activity run twice.

The steps run as the worker runs them (``RetentionActivities`` in an activity context, on
committed data of a fresh firm), each at an explicit sweep moment: a document is made due
by its age (created or binned so many days before that moment), never by waiting."""

import hashlib
import uuid
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import ActivityEnvironment

from activities.documents_retention import RetentionActivities
from core.db import tenant_session
from models import (
    AuditEvent,
    Client,
    ClientKind,
    Document,
    DocumentBlob,
    DocumentDeletion,
    DocumentVersion,
    RetentionCandidate,
    RetentionTrigger,
)
from providers.storage import Storage
from providers.storage_filesystem import FilesystemStorage
from services.documents import holds, retention, sweep
from services.documents.blobs import blob_key
from services.documents.holds import HoldFields
from services.documents.retention import PolicyFields
from tests.factories import Actor, principal_of
from workflows.documents.retention.contracts import DeleteResult, ReportResult, SweepFirmInput

Maker = async_sessionmaker[AsyncSession]
NOW = datetime(2030, 6, 1, 2, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@dataclass
class Firm:
    actor: Actor
    maker: Maker
    storage: Storage
    # What the ages below count back from: the sweep's moment.
    now: datetime = NOW

    @property
    def id(self) -> uuid.UUID:
        return self.actor.firm.id

    def session(self) -> AbstractAsyncContextManager[AsyncSession]:
        return tenant_session(self.id, self.maker)

    async def blob(self, content: bytes) -> uuid.UUID:
        """The firm's blob of ``content``, its bytes in storage."""
        sha = hashlib.sha256(content).hexdigest()
        key = blob_key(self.id, sha)

        async def chunks() -> AsyncIterator[bytes]:
            yield content

        await self.storage.write(key, chunks())
        async with self.session() as session:
            blob = DocumentBlob(
                firm_id=self.id,
                sha256=sha,
                size=len(content),
                content_type="text/plain",
                storage_key=key,
            )
            session.add(blob)
            await session.flush()
            return blob.id

    async def document(
        self,
        *blob_ids: uuid.UUID,
        document_type: str = "tax_return",
        age_days: int = 0,
        binned_days: int | None = None,
        client_id: uuid.UUID | None = None,
    ) -> uuid.UUID:
        """A document with one version per blob, created ``age_days`` before ``NOW`` (and
        put in the bin ``binned_days`` before it)."""
        async with self.session() as session:
            document = Document(
                firm_id=self.id,
                title=f"{document_type} {uuid.uuid4().hex[:6]}",
                document_type=document_type,
                client_id=client_id,
                created_at=self.now - age_days * DAY,
                deleted_at=None if binned_days is None else self.now - binned_days * DAY,
            )
            session.add(document)
            await session.flush()
            for number, blob_id in enumerate(blob_ids, start=1):
                blob = await session.get_one(DocumentBlob, blob_id)
                version = DocumentVersion(
                    firm_id=self.id,
                    document_id=document.id,
                    number=number,
                    blob_id=blob_id,
                    file_name=f"v{number}.txt",
                    sha256=blob.sha256,
                    size=blob.size,
                    content_type=blob.content_type,
                )
                session.add(version)
                await session.flush()
                document.current_version_id = version.id
            return document.id

    async def many(self, count: int, blob_id: uuid.UUID, *, age_days: int) -> list[uuid.UUID]:
        """``count`` tax returns of one version each, all of ``blob_id``, in one go."""
        async with self.session() as session:
            documents = [
                Document(
                    firm_id=self.id,
                    title=f"Return {i}",
                    document_type="tax_return",
                    created_at=self.now - age_days * DAY,
                )
                for i in range(count)
            ]
            session.add_all(documents)
            await session.flush()
            blob = await session.get_one(DocumentBlob, blob_id)
            session.add_all(
                DocumentVersion(
                    firm_id=self.id,
                    document_id=document.id,
                    number=1,
                    blob_id=blob_id,
                    file_name="return.txt",
                    sha256=blob.sha256,
                    size=blob.size,
                    content_type=blob.content_type,
                )
                for document in documents
            )
            return [document.id for document in documents]

    async def client(self, *, archived_days: int | None = None) -> uuid.UUID:
        async with self.session() as session:
            client = Client(
                firm_id=self.id,
                kind=ClientKind.organization,
                name=f"Client {uuid.uuid4().hex[:6]}",
                archived_at=None if archived_days is None else self.now - archived_days * DAY,
            )
            session.add(client)
            await session.flush()
            return client.id

    async def policy(self, **fields: object) -> uuid.UUID:
        async with self.session() as session:
            policy = await retention.create_policy(
                session, principal_of(self.actor), fields=PolicyFields.model_validate(fields)
            )
            return policy.id

    async def hold(self, **fields: object) -> uuid.UUID:
        async with self.session() as session:
            hold = await holds.place_hold(
                session, principal_of(self.actor), fields=HoldFields.model_validate(fields)
            )
            return hold.id

    async def release(self, hold_id: uuid.UUID) -> None:
        async with self.session() as session:
            await holds.release_hold(session, principal_of(self.actor), hold_id)

    async def existing(self, *document_ids: uuid.UUID) -> set[uuid.UUID]:
        async with self.session() as session:
            found = await session.scalars(select(Document.id).where(Document.id.in_(document_ids)))
            return set(found)

    async def blob_exists(self, blob_id: uuid.UUID, content: bytes) -> bool:
        key = blob_key(self.id, hashlib.sha256(content).hexdigest())
        async with self.session() as session:
            row = await session.get(DocumentBlob, blob_id)
        stored = await self.storage.exists(key)
        assert (row is not None) == stored, "a blob's row and its bytes go together"
        return stored

    async def deletions(self) -> list[DocumentDeletion]:
        async with self.session() as session:
            return list(
                await session.scalars(
                    select(DocumentDeletion).order_by(DocumentDeletion.deleted_at)
                )
            )

    async def candidates(self) -> dict[uuid.UUID, datetime]:
        async with self.session() as session:
            rows = await session.execute(
                select(RetentionCandidate.document_id, RetentionCandidate.delete_after)
            )
            return {document_id: delete_after for document_id, delete_after in rows}

    async def preview(self, at: datetime) -> sweep.Plan:
        async with self.session() as session:
            return await sweep.plan(session, self.id, at)

    async def report(self, at: datetime) -> ReportResult:
        activities = RetentionActivities(self.maker, self.storage)
        return await ActivityEnvironment().run(activities.report, self._input(at))

    async def delete(self, at: datetime) -> DeleteResult:
        activities = RetentionActivities(self.maker, self.storage)
        return await ActivityEnvironment().run(activities.delete, self._input(at))

    async def sweep(self, at: datetime) -> tuple[ReportResult, DeleteResult]:
        return await self.report(at), await self.delete(at)

    def _input(self, at: datetime) -> SweepFirmInput:
        return SweepFirmInput(firm_id=self.id, at=at, sweep_id=f"retention-sweep-test-{at}")


@pytest.fixture
async def firm(
    committed_owner: Actor, committing_sessionmaker: Maker, storage: FilesystemStorage
) -> Firm:
    return Firm(committed_owner, committing_sessionmaker, storage)


async def test_a_sweep_across_the_policy_boundary_deletes_after_the_grace_and_nothing_held(
    firm: Firm,
) -> None:
    await firm.policy(document_type="tax_return", retain_days=365, grace_days=10)
    blob = await firm.blob(b"return 2019")
    old = await firm.document(blob, age_days=366)
    young = await firm.document(blob, age_days=364)
    held_itself = await firm.document(await firm.blob(b"held"), age_days=400)
    held_client = await firm.client()
    held_by_client = await firm.document(
        await firm.blob(b"client held"), age_days=400, client_id=held_client
    )
    other_type = await firm.document(
        await firm.blob(b"letter"), document_type="letter", age_days=4000
    )
    await firm.hold(document_id=held_itself, reason="litigation")
    await firm.hold(client_id=held_client, reason="tax audit")

    # First sweep: reported, nothing deleted inside the grace period.
    reported, deleted = await firm.sweep(NOW)
    assert (reported.reported, reported.new, reported.deletable) == (1, 1, 0)
    assert deleted == DeleteResult(deleted=0, blobs_deleted=0)
    assert await firm.candidates() == {old: NOW + 10 * DAY}

    # A day before the grace ends: still nothing.
    _, deleted = await firm.sweep(NOW + 9 * DAY)
    assert deleted.deleted == 0
    # After it: the old document goes; the young one (two days from its own boundary) stays
    # and keeps the blob they share; held ones and other types stay.
    reported, deleted = await firm.sweep(NOW + 10 * DAY)
    assert deleted == DeleteResult(deleted=1, blobs_deleted=0)
    assert await firm.existing(old, young, held_itself, held_by_client, other_type) == {
        young,
        held_itself,
        held_by_client,
        other_type,
    }
    assert await firm.blob_exists(blob, b"return 2019")
    # The young one was reported by the sweep after its 365 days ended (NOW + 1 day).
    assert await firm.candidates() == {young: NOW + 9 * DAY + 10 * DAY}

    (record,) = await firm.deletions()
    assert (record.document_id, record.reason, record.versions) == (old, "retention", 1)
    assert record.blobs_deleted == []
    assert record.sweep_id == f"retention-sweep-test-{NOW + 10 * DAY}"
    assert "pending_blob_ids" not in record.details


async def test_a_hold_placed_after_the_report_stops_the_deletion_and_releasing_it_resumes(
    firm: Firm,
) -> None:
    await firm.policy(document_type="tax_return", retain_days=30, grace_days=5)
    document = await firm.document(await firm.blob(b"x"), age_days=31)
    await firm.report(NOW)
    hold = await firm.hold(document_id=document, reason="subpoena")

    # The delete step checks again under lock: held, it stays, and leaves the report.
    assert (await firm.delete(NOW + 6 * DAY)).deleted == 0
    assert await firm.candidates() == {}
    assert await firm.existing(document) == {document}

    # Released: reported afresh, so a full grace period again before it goes.
    await firm.release(hold)
    assert (await firm.sweep(NOW + 7 * DAY))[1].deleted == 0
    assert (await firm.sweep(NOW + 12 * DAY))[1].deleted == 1


async def test_more_than_a_batch_goes_in_one_sweep_past_candidates_no_longer_due(
    firm: Firm,
) -> None:
    await firm.policy(document_type="tax_return", retain_days=10, grace_days=1)
    blob = await firm.blob(b"many returns")
    documents = await firm.many(sweep.DELETE_BATCH + 5, blob, age_days=20)
    assert (await firm.report(NOW)).reported == len(documents)
    # Held since the report: the first batch meets them, drops them and goes on.
    held_ones = sorted(documents)[:3]
    for document in held_ones:
        await firm.hold(document_id=document, reason="matter")

    assert await firm.delete(NOW + DAY) == DeleteResult(
        deleted=len(documents) - len(held_ones), blobs_deleted=0
    )
    assert await firm.existing(*documents) == set(held_ones)
    assert await firm.candidates() == {}
    # The held documents still use the blob.
    assert await firm.blob_exists(blob, b"many returns")


async def test_blobs_shared_by_versions_and_documents_survive_until_the_last_goes(
    firm: Firm,
) -> None:
    await firm.policy(document_type="tax_return", retain_days=100, grace_days=0)
    shared = await firm.blob(b"shared bytes")
    own = await firm.blob(b"own bytes")
    # Two versions of one document with the same bytes (a restored version), and a second
    # document that still needs them.
    first = await firm.document(shared, own, shared, age_days=200)
    second = await firm.document(shared, age_days=50)

    _, deleted = await firm.sweep(NOW)
    assert deleted == DeleteResult(deleted=1, blobs_deleted=1)
    assert await firm.blob_exists(shared, b"shared bytes")
    assert not await firm.blob_exists(own, b"own bytes")
    (record,) = await firm.deletions()
    assert (record.document_id, record.versions) == (first, 3)
    assert record.blobs_deleted == [hashlib.sha256(b"own bytes").hexdigest()]

    # Once the second is due too, the shared blob goes with it.
    _, deleted = await firm.sweep(NOW + 50 * DAY)
    assert deleted == DeleteResult(deleted=1, blobs_deleted=1)
    assert not await firm.blob_exists(shared, b"shared bytes")
    later = (await firm.deletions())[1]
    assert later.document_id == second
    assert later.blobs_deleted == [hashlib.sha256(b"shared bytes").hexdigest()]


async def test_the_bin_is_purged_thirty_days_after_deletion_whatever_the_policy(
    firm: Firm,
) -> None:
    # A policy that would keep tax returns for years does not keep them in the bin, nor
    # does one that has run out cut the bin's 30 days short.
    await firm.policy(document_type="tax_return", retain_days=3650, grace_days=30)
    await firm.policy(document_type="memo", retain_days=1, grace_days=0)
    long_binned = await firm.document(await firm.blob(b"a"), binned_days=31)
    fresh_binned = await firm.document(
        await firm.blob(b"b"), document_type="memo", age_days=90, binned_days=29
    )
    held_binned = await firm.document(await firm.blob(b"c"), binned_days=40)
    await firm.hold(document_id=held_binned, reason="investigation")

    _, deleted = await firm.sweep(NOW)
    assert deleted.deleted == 1
    assert await firm.existing(long_binned, fresh_binned, held_binned) == {
        fresh_binned,
        held_binned,
    }
    (record,) = await firm.deletions()
    assert (record.reason, record.policy_id) == ("bin", None)
    # The memo goes a day later, at the end of its own 30 days in the bin.
    assert (await firm.sweep(NOW + DAY))[1].deleted == 1


async def test_a_client_archived_policy_counts_from_the_archiving_and_never_while_active(
    firm: Firm,
) -> None:
    await firm.policy(
        document_type="tax_return",
        trigger=RetentionTrigger.client_archived,
        retain_days=3650,
        grace_days=0,
    )
    active = await firm.client()
    archived_long_ago = await firm.client(archived_days=3651)
    archived_recently = await firm.client(archived_days=100)
    blob = await firm.blob(b"returns")
    kept_active = await firm.document(blob, age_days=20_000, client_id=active)
    due = await firm.document(blob, age_days=5000, client_id=archived_long_ago)
    kept_recent = await firm.document(blob, age_days=20_000, client_id=archived_recently)
    without_client = await firm.document(blob, age_days=20_000)

    plan = await firm.preview(NOW)
    assert [p.due.document_id for p in plan.report] == [due]
    assert plan.report[0].due.due_at == NOW - DAY
    await firm.sweep(NOW)
    assert await firm.existing(kept_active, due, kept_recent, without_client) == {
        kept_active,
        kept_recent,
        without_client,
    }


async def test_the_preview_is_what_the_sweep_then_does_and_writes_nothing(firm: Firm) -> None:
    await firm.policy(document_type="tax_return", retain_days=10, grace_days=3)
    await firm.policy(document_type="memo", retain_days=10, grace_days=0)
    blob = await firm.blob(b"p")
    reported_only = await firm.document(blob, age_days=11)
    memo = await firm.document(blob, document_type="memo", age_days=11)
    binned = await firm.document(blob, binned_days=30)
    await firm.document(blob, age_days=8)

    plan = await firm.preview(NOW)
    assert {p.due.document_id for p in plan.report} == {reported_only, memo, binned}
    assert {p.due.document_id for p in plan.delete} == {memo, binned}
    # Nothing written: no candidate, and the same plan again.
    assert await firm.candidates() == {}
    assert await firm.preview(NOW) == plan

    await firm.sweep(NOW)
    assert set(await firm.candidates()) == {reported_only}
    assert {d.document_id for d in await firm.deletions()} == {memo, binned}
    assert await firm.existing(reported_only, memo, binned) == {reported_only}
    # The next preview keeps the first report's moment.
    (still,) = (await firm.preview(NOW + DAY)).report
    assert (still.reported_at, still.delete_after) == (NOW, NOW + 3 * DAY)


async def test_the_delete_activity_run_twice_deletes_and_records_once(firm: Firm) -> None:
    await firm.policy(document_type="tax_return", retain_days=10, grace_days=0)
    blob = await firm.blob(b"once")
    document = await firm.document(blob, blob, age_days=20)
    await firm.report(NOW)

    first = await firm.delete(NOW)
    again = await firm.delete(NOW)
    assert first == DeleteResult(deleted=1, blobs_deleted=1)
    assert again == DeleteResult(deleted=0, blobs_deleted=0)
    (record,) = await firm.deletions()
    assert record.document_id == document
    assert record.blobs_deleted == [hashlib.sha256(b"once").hexdigest()]
    async with firm.session() as session:
        purged = await session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "document.purged", AuditEvent.record_id == document)
        )
    assert purged == 1


class BrokenStorage(FilesystemStorage):
    """Storage whose deletions fail, as an S3 outage would."""

    async def delete(self, key: str) -> None:
        raise ConnectionError("storage is down")


async def test_a_purge_that_failed_is_redone_by_the_next_attempt(
    firm: Firm, storage: FilesystemStorage
) -> None:
    await firm.policy(document_type="tax_return", retain_days=10, grace_days=0)
    blob = await firm.blob(b"retry me")
    document = await firm.document(blob, age_days=20)
    await firm.report(NOW)

    broken = Firm(firm.actor, firm.maker, BrokenStorage(storage.root))
    with pytest.raises(ConnectionError):
        await broken.delete(NOW)
    # The document's rows are committed gone; its blob is still to purge, row and bytes.
    assert await firm.existing(document) == set()
    assert await firm.blob_exists(blob, b"retry me")
    (record,) = await firm.deletions()
    assert record.details["pending_blob_ids"] == [str(blob)]

    assert await firm.delete(NOW) == DeleteResult(deleted=0, blobs_deleted=1)
    assert not await firm.blob_exists(blob, b"retry me")
    (record,) = await firm.deletions()
    assert record.blobs_deleted == [hashlib.sha256(b"retry me").hexdigest()]


async def test_firms_with_nothing_to_do_are_not_listed(
    firm: Firm, committing_sessionmaker: Maker
) -> None:
    async def listed() -> bool:
        async with committing_sessionmaker() as session, session.begin():
            found = await sweep.firms_with_work(session, after=None, limit=100_000)
        return firm.id in found

    await firm.document(await firm.blob(b"nothing due"), age_days=5000)
    assert not await listed()
    await firm.policy(document_type="letters", retain_days=1)
    assert await listed()


async def test_a_hold_being_placed_makes_the_sweep_wait_and_then_keep_the_document(
    firm: Firm,
) -> None:
    await firm.policy(document_type="tax_return", retain_days=10, grace_days=0)
    client_id = await firm.client()
    document = await firm.document(await firm.blob(b"disputed"), age_days=20, client_id=client_id)
    await firm.report(NOW)

    async with firm.session() as placing:
        await holds.place_hold(
            placing,
            principal_of(firm.actor),
            fields=HoldFields(client_id=client_id, reason="dispute"),
        )
        # The hold is not committed yet: the sweep cannot get past its lock on the client.
        with pytest.raises(DBAPIError, match="lock timeout"):
            async with firm.session() as sweeping:
                await sweeping.execute(text("SET LOCAL lock_timeout = '200ms'"))
                await sweep.delete_due(sweeping, firm.id, NOW, sweep_id="racing")
    # Committed: the sweep sees the hold and keeps the document.
    assert (await firm.delete(NOW)).deleted == 0
    assert await firm.existing(document) == {document}
