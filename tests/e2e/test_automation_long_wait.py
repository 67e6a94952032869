"""Runs that wait for weeks outlive their worker and the versions published meanwhile.

On the time-skipping server, a run sleeps 21 days before its HTTP step; its worker stops
while it sleeps, v2 and v3 (other URLs and bodies) are published, a new worker takes over
and time skips ahead: the run resumes once, on v1. On the dev server, a run waiting for an
event survives a worker process restart and two publishes, and finishes on v1 when the
event comes. Real workers, real servers, a loopback HTTP target: nothing is simulated."""

import asyncio
import signal
import uuid
from typing import Any

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import build_activities
from api.app import create_app
from core.config import Settings
from core.temporal import TASK_QUEUE, LazyClient, fixed_client
from tests.automations import RUNS, active_automation, definition, http_step, publish, start
from tests.e2e.test_import_worker_crash import worker_env, worker_process
from tests.factories import Actor
from tests.fixtures import db as db_fixtures
from tests.fixtures.firms import allow_loopback
from tests.fixtures.temporal import result_skipping_time
from tests.http_target import HttpTarget
from worker import build_worker
from workflows.automation.run.contracts import EVENT_SIGNAL, RunEvent, RunView, workflow_id
from workflows.automation.run.workflow import AutomationRunWorkflow
from workflows.registry import WORKFLOWS, workflow_runner

pytestmark = pytest.mark.e2e

THREE_WEEKS = 21 * 24 * 3600
# A worker process start, a query answered, the rest of the run.
TIMEOUT = 120
POLL_INTERVAL = 0.1


def notify(target: HttpTarget, version: int) -> dict[str, Any]:
    step = http_step(target.url(f"/v{version}"))
    step["params"]["body"] = {"version": version}
    return step


def slept(target: HttpTarget, version: int) -> dict[str, Any]:
    """Three weeks' delay, then a POST naming the version."""
    return definition(
        "pause",
        pause={"type": "delay", "params": {"seconds": THREE_WEEKS}, "next": "notify"},
        notify=notify(target, version),
    )


def waited(target: HttpTarget, version: int) -> dict[str, Any]:
    """A wait for the client's signature, then a POST naming the version."""
    return definition(
        "signed",
        signed={
            "type": "wait_for_event",
            "params": {"event": "contract.signed", "key": "{{ trigger.client }}"},
            "next": "notify",
        },
        notify=notify(target, version),
    )


def run_handle(env: WorkflowEnvironment, run_id: str) -> WorkflowHandle[Any, Any]:
    return env.client.get_workflow_handle(workflow_id(uuid.UUID(run_id)))


async def waiting_on(run: WorkflowHandle[Any, Any], kind: str) -> RunView:
    async with asyncio.timeout(TIMEOUT):
        while True:
            view = await run.query(AutomationRunWorkflow.progress)
            if view.waiting is not None and view.waiting.kind == kind:
                return view
            await asyncio.sleep(POLL_INTERVAL)


async def assert_ran_once_on_v1(
    api: AsyncClient, actor: Actor, run_id: str, target: HttpTarget
) -> None:
    response = await api.get(f"{RUNS}/{run_id}", headers=actor.headers)
    assert response.status_code == 200, response.text
    run = response.json()
    assert run["status"] == "succeeded", run
    assert run["version"] == 1
    assert target.paths() == ["/v1"]
    assert [request.body for request in target.requests] == [{"version": 1}]
    assert [(step["step_id"], step["visit"]) for step in run["steps"]] == [
        (run["steps"][0]["step_id"], 1),
        ("notify", 1),
    ]


async def test_a_three_week_delay_resumes_once_on_its_version_under_a_new_worker(
    settings: Settings,
    committing_sessionmaker: async_sessionmaker[AsyncSession],
    temporal_env: WorkflowEnvironment,
    temporal_api: AsyncClient,
    committed_owner: Actor,
    target: HttpTarget,
) -> None:
    await allow_loopback(temporal_api, committed_owner)
    automation_id = await active_automation(temporal_api, committed_owner, slept(target, 1))
    run = ""
    # A real server hands a stopped worker's sticky tasks back to the shared queue when the
    # worker shuts down; the test server does not (ResetStickyTaskQueue is unimplemented),
    # so the first worker caches no run and takes no sticky queue.
    client = temporal_env.client
    uncached = Worker(
        client,
        task_queue=TASK_QUEUE,
        workflows=WORKFLOWS,
        workflow_runner=workflow_runner(),
        activities=build_activities(settings, committing_sessionmaker, fixed_client(client)),
        max_cached_workflows=0,
    )
    async with uncached:
        run = await start(temporal_api, committed_owner, automation_id)
        view = await waiting_on(run_handle(temporal_env, run), "timer")
        assert view.waiting is not None and view.waiting.wakes_at is not None
    # The worker is gone while the run sleeps; the automation moves on twice.
    assert await publish(temporal_api, committed_owner, automation_id, slept(target, 2)) == 2
    assert await publish(temporal_api, committed_owner, automation_id, slept(target, 3)) == 3

    async with build_worker(settings, temporal_env.client, committing_sessionmaker):
        await result_skipping_time(temporal_env, run_handle(temporal_env, run))
    await assert_ran_once_on_v1(temporal_api, committed_owner, run, target)


async def test_a_run_waiting_for_an_event_survives_a_worker_restart_and_two_publishes(
    settings: Settings,
    test_database: db_fixtures.TestDatabase,
    committing_sessionmaker: async_sessionmaker[AsyncSession],
    temporal_dev_server: WorkflowEnvironment,
    committed_owner: Actor,
    target: HttpTarget,
) -> None:
    app = create_app(
        settings,
        sessionmaker=committing_sessionmaker,
        temporal=LazyClient(settings, client=temporal_dev_server.client),
    )
    env = worker_env(test_database, temporal_dev_server)
    assert settings.encryption_keys is not None
    env["FIRMFLOW_ENCRYPTION_KEYS"] = settings.encryption_keys.get_secret_value()
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://e2e") as api:
        await allow_loopback(api, committed_owner)
        automation_id = await active_automation(api, committed_owner, waited(target, 1))

        async with worker_process(env) as first:
            run_id = await start(api, committed_owner, automation_id, {"client": "C-1"})
            handle = run_handle(temporal_dev_server, run_id)
            view = await waiting_on(handle, "event")
            assert view.waiting is not None and view.waiting.key == "C-1"
            first.process.send_signal(signal.SIGTERM)
            async with asyncio.timeout(TIMEOUT):
                assert await first.process.wait() == 0, first.output

        assert await publish(api, committed_owner, automation_id, waited(target, 2)) == 2
        assert await publish(api, committed_owner, automation_id, waited(target, 3)) == 3

        async with worker_process(env) as second:
            event = RunEvent(event_id="sig-1", name="contract.signed", key="C-1", payload={})
            await handle.signal(EVENT_SIGNAL, event)
            async with asyncio.timeout(TIMEOUT):
                await handle.result()
            second.process.send_signal(signal.SIGTERM)
            async with asyncio.timeout(TIMEOUT):
                assert await second.process.wait() == 0, second.output
        await assert_ran_once_on_v1(api, committed_owner, run_id, target)
