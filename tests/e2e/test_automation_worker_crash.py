"""A worker process is killed (SIGKILL) while an automation run's HTTP step is in flight; a
new worker finishes the run. Nothing that had completed is repeated, the step that was in
flight is re-sent with the same Idempotency-Key (so a receiver that honours the header
applies it once), and the database effects happen once: with the action steps as regular
activities, and as local ones (whose completed results die with the worker's workflow
task, so the new worker runs them again and they must find their records). Real
processes, the Temporal dev server, the test database and a loopback HTTP server: nothing
is simulated."""

import asyncio
import signal
import uuid
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from core.config import Settings
from core.db import tenant_session
from core.temporal import LazyClient
from models import AutomationRunStep, Task
from tests.automations import RUNS, active_automation, definition, http_step, start
from tests.e2e.test_import_worker_crash import worker_env, worker_process
from tests.factories import make_firm
from tests.fixtures import db as db_fixtures
from tests.fixtures.firms import allow_loopback
from tests.http_target import running_target
from workflows.automation.run.contracts import workflow_id

pytestmark = pytest.mark.e2e

# A worker start, the in-flight step's timeout after the kill, and the rest of the run.
TIMEOUT = 120
# The held step times out this long after the kill, and is then retried by the new worker.
STEP_TIMEOUT = 4


@pytest.mark.parametrize("execution", ["activity", "local"])
async def test_a_killed_worker_repeats_no_completed_step_and_duplicates_no_effect(
    execution: str,
    settings: Settings,
    test_database: db_fixtures.TestDatabase,
    committing_sessionmaker: async_sessionmaker[AsyncSession],
    temporal_dev_server: WorkflowEnvironment,
) -> None:
    maker = committing_sessionmaker
    async with maker() as session:
        actor = await make_firm(session, "Crash Automation")
    app = create_app(
        settings,
        sessionmaker=maker,
        temporal=LazyClient(settings, client=temporal_dev_server.client),
    )
    env = worker_env(test_database, temporal_dev_server)
    assert settings.encryption_keys is not None
    env["FIRMFLOW_ENCRYPTION_KEYS"] = settings.encryption_keys.get_secret_value()

    with running_target() as target:
        held = http_step(target.url("/two"), "task", timeout=STEP_TIMEOUT, execution=execution)
        held["params"]["timeout"] = 2
        draft = definition(
            "one",
            one=http_step(target.url("/one"), "two", timeout=STEP_TIMEOUT, execution=execution),
            two=held,
            task={
                "type": "create_task",
                "params": {"title": "Call {{ trigger.client }} back"},
                "next": "pause",
                "execution": execution,
            },
            pause={"type": "delay", "params": {"seconds": 1}, "next": "three"},
            three=http_step(target.url("/three"), None, timeout=STEP_TIMEOUT, execution=execution),
        )
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://e2e") as api:
            await allow_loopback(api, actor)
            automation_id = await active_automation(api, actor, draft)

            async with worker_process(env) as first:
                # /two's answer is held until the worker is dead.
                target.held.add("/two")
                target.gate.clear()
                run_id = await start(api, actor, automation_id, {"client": "Acme"})
                arrived = await asyncio.to_thread(target.wait_for_path, "/two", TIMEOUT)
                assert arrived, first.output
                first.process.send_signal(signal.SIGKILL)
                assert await first.process.wait() == -signal.SIGKILL
            target.gate.set()

            async with worker_process(env) as second:
                handle = temporal_dev_server.client.get_workflow_handle(
                    workflow_id(uuid.UUID(run_id))
                )
                async with asyncio.timeout(TIMEOUT):
                    await handle.result()
                second.process.send_signal(signal.SIGTERM)
                async with asyncio.timeout(TIMEOUT):
                    assert await second.process.wait() == 0, second.output

            response = await api.get(f"{RUNS}/{run_id}", headers=actor.headers)
        run: dict[str, Any] = response.json()

    assert run["status"] == "succeeded", run
    keys = target.key_counts()
    assert target.paths() == ["/one", "/two", "/two", "/three"]
    assert keys[f"{run_id}:one:1"] == 1
    assert keys[f"{run_id}:three:1"] == 1
    # The request that was in flight at the kill went again, under the same key.
    assert keys[f"{run_id}:two:1"] == 2
    assert len(keys) == 3
    async with tenant_session(actor.firm.id, maker) as session:
        tasks = list(await session.scalars(select(Task.title)))
        rows = await session.scalar(
            select(func.count())
            .select_from(AutomationRunStep)
            .where(AutomationRunStep.run_id == uuid.UUID(run_id))
        )
    assert tasks == ["Call Acme back"]
    assert rows == 5
    assert [step["step_id"] for step in run["steps"]] == ["one", "two", "task", "pause", "three"]
