"""The client import end to end on the time-skipping server: upload through the API,
the workflow and its real activities against committed Postgres data, and the report."""

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    RetryState,
    WorkflowAlreadyStartedError,
)
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import ClientImportActivities, OutboxActivities
from core.config import Settings
from core.db import scope_to_firm, tenant_session
from core.principal import Principal
from core.temporal import TASK_QUEUE, fixed_client
from models import AuditEvent, Client, ClientImport, ClientImportRow, OutboxMessage, RowOutcome
from services import client_imports, clients
from services.outbox.writer import pop_outbox_ids
from tests.factories import Actor, make_firm, principal_of
from workflows.clients.client_import.contracts import (
    BATCH_ACTIVITY,
    ClientImportInput,
    ClientImportResult,
    ImportBatchInput,
    ImportBatchResult,
    ImportProgress,
    workflow_id,
)
from workflows.clients.client_import.workflow import ClientImportWorkflow
from workflows.registry import WORKFLOWS

Maker = async_sessionmaker[AsyncSession]
RESULT_TIMEOUT = 60


@asynccontextmanager
async def running_worker(
    env: WorkflowEnvironment, maker: Maker, imports: ClientImportActivities
) -> AsyncIterator[Worker]:
    outbox = OutboxActivities(maker, fixed_client(env.client))
    worker = Worker(
        env.client,
        task_queue=TASK_QUEUE,
        workflows=WORKFLOWS,
        activities=[imports.stage, imports.import_batch, imports.finish, outbox.dispatch_pending],
    )
    async with worker:
        yield worker


def activities_for(
    env: WorkflowEnvironment, maker: Maker, batch_size: int
) -> ClientImportActivities:
    return ClientImportActivities(maker, fixed_client(env.client), batch_size=batch_size)


async def upload(api: AsyncClient, actor: Actor, lines: Sequence[str]) -> uuid.UUID:
    data = ("\r\n".join(lines) + "\r\n").encode()
    response = await api.post(
        "/v1/clients/imports", headers=actor.headers, files={"file": ("c.csv", data, "text/csv")}
    )
    assert response.status_code == 202, response.text
    return uuid.UUID(response.json()["id"])


def handle_of(env: WorkflowEnvironment, import_id: uuid.UUID) -> WorkflowHandle[Any, Any]:
    return env.client.get_workflow_handle_for(ClientImportWorkflow.run, workflow_id(import_id))


async def result_of(
    env: WorkflowEnvironment, actor: Actor, import_id: uuid.UUID
) -> ClientImportResult:
    """The import's result with time skipping on (retry back-offs pass at once). The SDK
    skips time only while awaiting a handle its own start returned, so attach one to the
    running workflow the way the outbox does; a closed workflow needs no skipping."""
    try:
        handle = await env.client.start_workflow(
            ClientImportWorkflow.run,
            ClientImportInput(firm_id=actor.firm.id, import_id=import_id),
            id=workflow_id(import_id),
            task_queue=TASK_QUEUE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except WorkflowAlreadyStartedError:
        handle = handle_of(env, import_id)
    async with asyncio.timeout(RESULT_TIMEOUT):
        result: ClientImportResult = await handle.result()
    return result


async def firm_clients(maker: Maker, actor: Actor) -> list[Client]:
    async with tenant_session(actor.firm.id, maker) as session:
        return list(await session.scalars(select(Client).order_by(Client.name)))


def numbered(count: int, start: int = 0) -> list[str]:
    return [f"Client {n},client{n}@example.com,REF-{n}" for n in range(start, start + count)]


async def test_import_creates_skips_and_reports_rows_exactly(
    temporal_env: WorkflowEnvironment,
    temporal_api: AsyncClient,
    committing_sessionmaker: Maker,
    committed_owner: Actor,
) -> None:
    maker = committing_sessionmaker
    async with tenant_session(committed_owner.firm.id, maker) as session:
        principal = Principal.system(committed_owner.firm.id)
        for data in (
            {"name": "Taken", "email": "taken@example.com"},
            {"name": "Ref", "external_ref": "EXT-9"},
        ):
            await clients.create_client(
                session, principal, fields=clients.validate_client_fields(data)
            )
    lines = [
        "Name,Email,External_Ref,Kind,Status,Tags,Phone,Notes",
        "Acme Ltd,info@acme.io,A-1,organization,Active,vip; tax,+1 555 0100,big",  # 2
        "Ada Lovelace,ada@example.com,,Person,,,,",  # 3
        "Existing By Email,TAKEN@example.com,,,,,,",  # 4
        "Existing By Ref,new1@example.com,EXT-9,,,,,",  # 5
        "Dup Email,INFO@acme.io,,,,,,",  # 6
        "Dup Ref,other@example.com,A-1,,,,,",  # 7
        ",noname@example.com,,,,,,",  # 8
        "Bad Email,not-an-email,,,,,,",  # 9
        '"Multi',  # 10
        'Line Inc",ml@example.com,,,,,,',  # 11
        "Robot,,,robot,,,,",  # 12
        "Plain",  # 13
        *[f"Client {n},client{n}@example.com,,,,,," for n in range(5)],  # 14-18
    ]
    import_id = await upload(temporal_api, committed_owner, lines)
    async with tenant_session(committed_owner.firm.id, maker) as session:
        start = await session.scalar(
            select(OutboxMessage).where(
                OutboxMessage.dedupe_key == f"start:client-import-{import_id}"
            )
        )
    assert start is not None
    assert start.dispatched_at is not None, "the fast path started the workflow after commit"
    assert start.attempts == 0

    async with running_worker(temporal_env, maker, activities_for(temporal_env, maker, 3)):
        result = await result_of(temporal_env, committed_owner, import_id)

    expected = ImportProgress(
        status="completed", total=16, processed=16, created=9, skipped=4, invalid=3
    )
    assert result.progress == expected
    report = (
        await temporal_api.get(f"/v1/clients/imports/{import_id}", headers=committed_owner.headers)
    ).json()
    assert {
        k: report[k] for k in ("status", "total", "processed", "created", "skipped", "invalid")
    } == expected.model_dump()
    assert report["unknown_columns"] == ["Notes"]
    assert report["finished_at"] is not None
    errors = [(e["line"], e["outcome"], e["reason"]) for e in report["errors"]]
    assert errors[:4] == [
        (4, "skipped", "a client with this email exists"),
        (5, "skipped", "a client with this external_ref exists"),
        (6, "skipped", "duplicate of line 2 (same email)"),
        (7, "skipped", "duplicate of line 2 (same external_ref)"),
    ]
    assert errors[4] == (8, "invalid", "name: Enter a value; this may not be empty.")
    assert errors[5][:2] == (9, "invalid")
    assert errors[5][2].startswith("email: Enter a valid email address")
    assert errors[6] == (12, "invalid", "kind: Choose 'organization' or 'person'.")
    assert len(errors) == 7

    created = await firm_clients(maker, committed_owner)
    assert [c.name for c in created] == [
        "Acme Ltd",
        "Ada Lovelace",
        *[f"Client {n}" for n in range(5)],
        "Multi\r\nLine Inc",
        "Plain",
        "Ref",
        "Taken",
    ]
    acme = created[0]
    assert (acme.kind, acme.status, acme.tags, acme.phone, acme.external_ref, acme.email) == (
        "organization",
        "active",
        ["vip", "tax"],
        "+1 555 0100",
        "A-1",
        "info@acme.io",
    )
    assert created[1].kind == "person"

    async with tenant_session(committed_owner.firm.id, maker) as session:
        rows = list(
            await session.scalars(
                select(ClientImportRow).where(ClientImportRow.import_id == import_id)
            )
        )
        imported = {r.client_id for r in rows if r.outcome is RowOutcome.created}
        audited = set(
            await session.scalars(
                select(AuditEvent.record_id).where(
                    AuditEvent.action == "client.created",
                    AuditEvent.request_id == workflow_id(import_id),
                )
            )
        )
        events = list(
            await session.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.dedupe_key.in_([f"client.created:{c}" for c in imported])
                )
            )
        )
        source = await session.scalar(
            select(ClientImport.source).where(ClientImport.id == import_id)
        )
    assert len(rows) == 16 and all(r.processed_at is not None for r in rows)
    assert imported == {c.id for c in created if c.name not in ("Ref", "Taken")}
    assert audited == imported
    assert len(events) == 9 and all(e.dispatched_at is not None for e in events)
    assert source is None, "the uploaded bytes are dropped once staged"


class PausingActivities(ClientImportActivities):
    """Holds the second batch until the test has asked the workflow for its progress."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.batches = 0
        self.second_batch_started = asyncio.Event()
        self.release = asyncio.Event()

    @activity.defn(name=BATCH_ACTIVITY)
    async def import_batch(self, input: ImportBatchInput) -> ImportBatchResult:
        self.batches += 1
        if self.batches == 2:
            self.second_batch_started.set()
            await self.release.wait()
        return await super().import_batch(input)


async def test_progress_query_reports_counts_while_the_import_runs(
    temporal_env: WorkflowEnvironment,
    temporal_api: AsyncClient,
    committing_sessionmaker: Maker,
    committed_owner: Actor,
) -> None:
    maker = committing_sessionmaker
    lines = ["name,email,external_ref", *numbered(10), ",blank@example.com,", "Bad,bad-email,"]
    import_id = await upload(temporal_api, committed_owner, lines)
    imports = PausingActivities(maker, fixed_client(temporal_env.client), batch_size=4)
    async with running_worker(temporal_env, maker, imports):
        async with asyncio.timeout(RESULT_TIMEOUT):
            await imports.second_batch_started.wait()
        during = await handle_of(temporal_env, import_id).query(ClientImportWorkflow.progress)
        imports.release.set()
        result = await result_of(temporal_env, committed_owner, import_id)
        after = await handle_of(temporal_env, import_id).query(ClientImportWorkflow.progress)

    assert during == ImportProgress(
        status="running", total=12, processed=6, created=4, skipped=0, invalid=2
    )
    final = ImportProgress(status="completed", total=12, processed=12, created=10, invalid=2)
    assert result.progress == final
    assert after == final


class ObservingActivities(ClientImportActivities):
    """Reads the import's progress record (what GET /v1/clients/imports/<id> shows) after
    each batch has committed, and the workflow's own progress after it took the batch."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.recorded: list[int] = []

    @activity.defn(name=BATCH_ACTIVITY)
    async def import_batch(self, input: ImportBatchInput) -> ImportBatchResult:
        result = await super().import_batch(input)
        principal = Principal.system(input.firm_id)
        async with tenant_session(input.firm_id, self._sessionmaker) as session:
            report = await client_imports.get_report(session, principal, input.import_id)
        self.recorded.append(report.progress.processed)
        return result


async def test_a_500_row_import_moves_its_progress_at_most_100_rows_at_a_time(
    temporal_env: WorkflowEnvironment,
    temporal_api: AsyncClient,
    committing_sessionmaker: Maker,
    committed_owner: Actor,
    settings: Settings,
) -> None:
    maker = committing_sessionmaker
    import_id = await upload(
        temporal_api, committed_owner, ["name;email;external_ref", *numbered(500)]
    )
    imports = ObservingActivities(
        maker, fixed_client(temporal_env.client), batch_size=settings.import_batch_size
    )
    async with running_worker(temporal_env, maker, imports):
        result = await result_of(temporal_env, committed_owner, import_id)

    assert result.progress == ImportProgress(
        status="completed", total=500, processed=500, created=500
    )
    steps = [b - a for a, b in itertools.pairwise([0, *imports.recorded])]
    assert imports.recorded[-1] == 500
    assert all(0 < step <= client_imports.PROGRESS_ROWS for step in steps), imports.recorded


async def test_a_batch_past_its_time_budget_commits_what_it_did_and_leaves_the_rest(
    db: AsyncSession,
) -> None:
    owner = await make_firm(db)
    principal = Principal.system(owner.firm.id)
    await scope_to_firm(db, owner.firm.id)
    data = "\n".join(["name", *(f"Client {n}" for n in range(60))]).encode()
    summary = await client_imports.create_import(
        db, principal, filename="c.csv", data=data, max_bytes=10_000, max_rows=100
    )
    import_id = summary.client_import.id
    await client_imports.stage_rows(db, principal, import_id=import_id)

    # No time left: one chunk, then the batch ends and the progress moves.
    first = await client_imports.import_batch(
        db, principal, import_id=import_id, batch_size=100, time_budget=0
    )
    assert (first.decided, first.progress.processed, first.remaining) == (
        client_imports.CHUNK_ROWS,
        client_imports.CHUNK_ROWS,
        60 - client_imports.CHUNK_ROWS,
    )
    rest = await client_imports.import_batch(db, principal, import_id=import_id, batch_size=100)
    assert (rest.progress.processed, rest.progress.created, rest.remaining) == (60, 60, 0)


class FailingOnceActivities(ClientImportActivities):
    """The first batch fails once, before or after its transaction committed: a lost
    connection, a worker dying just after COMMIT, a timeout."""

    def __init__(self, *args: Any, fail_after_commit: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fail_after_commit = fail_after_commit
        self.attempts: list[int] = []

    @activity.defn(name=BATCH_ACTIVITY)
    async def import_batch(self, input: ImportBatchInput) -> ImportBatchResult:
        attempt = activity.info().attempt
        self.attempts.append(attempt)
        first = len(self.attempts) == 1
        if first and not self.fail_after_commit:
            raise RuntimeError("connection lost before the batch committed")
        result = await super().import_batch(input)
        if first:
            raise RuntimeError("connection lost after the batch committed")
        return result


@pytest.mark.parametrize("fail_after_commit", [False, True], ids=["before-commit", "after-commit"])
async def test_a_failed_batch_is_retried_without_duplicates_or_losses(
    temporal_env: WorkflowEnvironment,
    temporal_api: AsyncClient,
    committing_sessionmaker: Maker,
    committed_owner: Actor,
    fail_after_commit: bool,
) -> None:
    maker = committing_sessionmaker
    import_id = await upload(
        temporal_api, committed_owner, ["name,email,external_ref", *numbered(7)]
    )
    imports = FailingOnceActivities(
        maker, fixed_client(temporal_env.client), batch_size=3, fail_after_commit=fail_after_commit
    )
    async with running_worker(temporal_env, maker, imports):
        result = await result_of(temporal_env, committed_owner, import_id)

    assert result.progress == ImportProgress(status="completed", total=7, processed=7, created=7)
    # After-commit: the retry finds the first three rows done and takes the next three.
    assert imports.attempts == ([1, 2, 1] if fail_after_commit else [1, 2, 1, 1])
    created = await firm_clients(maker, committed_owner)
    assert sorted(c.email or "" for c in created) == sorted(
        f"client{n}@example.com" for n in range(7)
    )


class AlwaysFailingActivities(ClientImportActivities):
    @activity.defn(name=BATCH_ACTIVITY)
    async def import_batch(self, input: ImportBatchInput) -> ImportBatchResult:
        raise RuntimeError("password authentication failed for user firmflow_app")


async def test_an_import_whose_batches_keep_failing_is_marked_failed_without_internals(
    temporal_env: WorkflowEnvironment,
    temporal_api: AsyncClient,
    committing_sessionmaker: Maker,
    committed_owner: Actor,
) -> None:
    maker = committing_sessionmaker
    import_id = await upload(temporal_api, committed_owner, ["name", "Acme", ""])
    imports = AlwaysFailingActivities(maker, fixed_client(temporal_env.client), batch_size=3)
    async with running_worker(temporal_env, maker, imports):
        with pytest.raises(WorkflowFailureError) as failed:
            await result_of(temporal_env, committed_owner, import_id)

    cause = failed.value.cause
    assert isinstance(cause, ApplicationError) and cause.non_retryable
    assert isinstance(cause.__cause__, ActivityError)
    assert cause.__cause__.retry_state is RetryState.MAXIMUM_ATTEMPTS_REACHED
    report = (
        await temporal_api.get(f"/v1/clients/imports/{import_id}", headers=committed_owner.headers)
    ).json()
    assert report["status"] == "failed"
    assert report["failure_reason"] == (
        "The import stopped after repeated internal errors; the rows processed before it "
        "stopped are kept."
    )
    assert (report["processed"], report["created"]) == (0, 0)
    assert report["finished_at"] is not None


async def test_a_workflow_naming_another_firm_fails_at_once_and_touches_nothing(
    temporal_env: WorkflowEnvironment,
    committing_sessionmaker: Maker,
    committed_owner: Actor,
) -> None:
    maker = committing_sessionmaker
    async with maker() as session:
        intruder = await make_firm(session, "Intruder")
    # The victim's import is created but its own workflow never starts (its outbox message
    # is dropped): only the forged run is started here. Starting and terminating it instead
    # would stall time skipping for every later test on this test server.
    async with tenant_session(committed_owner.firm.id, maker) as session:
        summary = await client_imports.create_import(
            session,
            principal_of(committed_owner),
            filename="victim.csv",
            data=b"name\r\nAcme\r\n",
            max_bytes=1024,
            max_rows=10,
        )
        await session.execute(
            delete(OutboxMessage).where(OutboxMessage.id.in_(pop_outbox_ids(session)))
        )
    victim_import = summary.client_import.id
    forged = ClientImportInput(firm_id=intruder.firm.id, import_id=victim_import)
    async with running_worker(temporal_env, maker, activities_for(temporal_env, maker, 10)):
        handle = await temporal_env.client.start_workflow(
            ClientImportWorkflow.run, forged, id=f"forged-{uuid.uuid4()}", task_queue=TASK_QUEUE
        )
        with pytest.raises(WorkflowFailureError) as failed:
            async with asyncio.timeout(RESULT_TIMEOUT):
                await handle.result()

    activity_error = failed.value.cause
    assert isinstance(activity_error, ActivityError)
    assert activity_error.retry_state is RetryState.NON_RETRYABLE_FAILURE
    rejection = activity_error.cause
    assert isinstance(rejection, ApplicationError)
    assert rejection.type == "ImportRejected"
    assert rejection.message == "No client import with this id in your firm"
    async with tenant_session(committed_owner.firm.id, maker) as session:
        untouched = await session.scalar(
            select(ClientImport).where(ClientImport.id == victim_import)
        )
        rows = await session.scalar(
            select(func.count())
            .select_from(ClientImportRow)
            .where(ClientImportRow.import_id == victim_import)
        )
    assert untouched is not None
    assert (untouched.status, untouched.failure_reason, rows) == ("pending", None, 0)
