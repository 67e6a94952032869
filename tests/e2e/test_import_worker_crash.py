"""A worker process is killed (SIGKILL) in the middle of a client import; a new worker
finishes it with every row imported exactly once. Real processes, the Temporal dev
server and the test database: nothing is simulated."""

import asyncio
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from core.config import Settings
from core.db import tenant_session
from core.temporal import LazyClient
from models import Client, ClientImport, ClientImportRow, RowOutcome
from tests.factories import make_firm
from tests.fixtures import db as db_fixtures
from tests.fixtures.temporal import temporal_address
from workflows.clients.client_import.contracts import (
    ClientImportResult,
    ImportProgress,
    workflow_id,
)

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
ROWS = 3000
BATCH_SIZE = 100
# Covers a worker start, the heartbeat timeout after the kill and 30 batches.
TIMEOUT = 180


@dataclass
class WorkerProcess:
    process: asyncio.subprocess.Process
    lines: list[str] = field(default_factory=list)
    closed: bool = False
    seen: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def pump(self) -> None:
        """Read every line, so a full pipe never blocks the worker's logging."""
        assert self.process.stdout is not None
        async for raw in self.process.stdout:
            async with self.seen:
                self.lines.append(raw.decode(errors="replace"))
                self.seen.notify_all()
        async with self.seen:
            self.closed = True
            self.seen.notify_all()

    async def wait_for(self, needle: str) -> str:
        async with self.seen:
            while True:
                for line in self.lines:
                    if needle in line:
                        return line
                if self.closed:
                    raise AssertionError(f"worker exited before {needle!r}:\n{self.output}")
                await self.seen.wait()

    @property
    def output(self) -> str:
        return "".join(self.lines)


@asynccontextmanager
async def worker_process(env: dict[str, str]) -> AsyncIterator[WorkerProcess]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "worker.py"),
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    worker = WorkerProcess(process)
    pump = asyncio.create_task(worker.pump())
    try:
        yield worker
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()
        await pump


def worker_env(
    test_database: db_fixtures.TestDatabase, server: WorkflowEnvironment
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIRMFLOW_")}
    env.update(
        FIRMFLOW_DATABASE_URL=test_database.app_url,
        FIRMFLOW_TEMPORAL_ADDRESS=temporal_address(server),
        FIRMFLOW_IMPORT_BATCH_SIZE=str(BATCH_SIZE),
        FIRMFLOW_LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    return env


def csv_of(rows: int) -> bytes:
    lines = ["name,email,external_ref"]
    lines += [f"Client {n:05},client{n:05}@example.com,E2E-{n:05}" for n in range(rows)]
    return ("\r\n".join(lines) + "\r\n").encode()


async def test_a_killed_worker_leaves_no_duplicate_and_no_missing_client(
    settings: Settings,
    test_database: db_fixtures.TestDatabase,
    committing_sessionmaker: async_sessionmaker[AsyncSession],
    temporal_dev_server: WorkflowEnvironment,
) -> None:
    maker = committing_sessionmaker
    async with maker() as session:
        actor = await make_firm(session, "Crash Test")
    app = create_app(
        settings,
        sessionmaker=maker,
        temporal=LazyClient(settings, client=temporal_dev_server.client),
    )
    env = worker_env(test_database, temporal_dev_server)

    async with worker_process(env) as first:
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://e2e") as api:
            response = await api.post(
                "/v1/clients/imports",
                headers=actor.headers,
                files={"file": ("big.csv", csv_of(ROWS), "text/csv")},
            )
        assert response.status_code == 202, response.text
        import_id = uuid.UUID(response.json()["id"])
        async with asyncio.timeout(TIMEOUT):
            await first.wait_for(f"client import {import_id}: batch committed")
        first.process.send_signal(signal.SIGKILL)
        assert await first.process.wait() == -signal.SIGKILL

    async with tenant_session(actor.firm.id, maker) as session:
        interrupted = await session.scalar(select(ClientImport).where(ClientImport.id == import_id))
        done_at_kill = await session.scalar(
            select(func.count())
            .select_from(ClientImportRow)
            .where(
                ClientImportRow.import_id == import_id,
                ClientImportRow.outcome != RowOutcome.pending,
            )
        )
    assert interrupted is not None and interrupted.status == "running"
    assert done_at_kill is not None and BATCH_SIZE <= done_at_kill < ROWS

    async with worker_process(env) as second:
        handle = temporal_dev_server.client.get_workflow_handle(
            workflow_id(import_id), result_type=ClientImportResult
        )
        async with asyncio.timeout(TIMEOUT):
            result = await handle.result()
        second.process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(TIMEOUT):
            assert await second.process.wait() == 0, second.output
        await second.wait_for("worker stopped")

    assert result.progress == ImportProgress(
        status="completed", total=ROWS, processed=ROWS, created=ROWS
    )
    async with tenant_session(actor.firm.id, maker) as session:
        emails = list(await session.scalars(select(Client.email)))
        linked = list(
            await session.scalars(
                select(ClientImportRow.client_id).where(ClientImportRow.import_id == import_id)
            )
        )
    assert len(emails) == ROWS
    assert set(emails) == {f"client{n:05}@example.com" for n in range(ROWS)}
    assert len(set(linked)) == ROWS and None not in linked
