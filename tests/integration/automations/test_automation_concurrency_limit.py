"""The concurrency limit end to end: runs started through the API, carried by the outbox to
the time-skipping server and executed by the real worker against committed Postgres.

Each run waits for a ``custom.go`` event the test sends when it wants the run to end,
then posts its trigger's ``n`` to a loopback server, so the server's log is the order the
runs really ran in. A queued run's start message is written (and dispatched right after
commit) by ``finish_run`` of the run that frees its slot."""

import asyncio
import contextlib
import uuid
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import WorkflowFailureError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from core.db import tenant_session
from models import AutomationRun, RunStatus
from tests.automations import active_automation, handle, start
from tests.factories import Actor
from tests.http_target import HttpTarget, running_target
from workflows.automation.run.contracts import EVENT_SIGNAL, RunEvent, workflow_id

RUNS = "/v1/automation-runs"
# What a waiting run waits for: the test says when each run may end. (A timer would not
# do: while a test awaits one workflow, the server may skip time past another's timer.)
GO = "custom.go"


def limited(target: HttpTarget, **concurrency: Any) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "trigger": {"type": "manual"},
        "concurrency": concurrency,
        "start": "wait",
        "steps": {
            "wait": {"type": "wait_for_event", "params": {"event": GO}, "next": "call"},
            "call": {
                "type": "http_request",
                "params": {"method": "POST", "url": target.url("/run"), "body": "{{ trigger.n }}"},
            },
        },
    }


class Runs:
    """Reads run rows and drives the queue the way the relay and the worker would."""

    def __init__(
        self,
        maker: async_sessionmaker[AsyncSession],
        env: WorkflowEnvironment,
        actor: Actor,
    ) -> None:
        self.maker, self.env, self.actor = maker, env, actor

    async def rows(self, ids: list[str]) -> list[AutomationRun]:
        async with tenant_session(self.actor.firm.id, self.maker) as session:
            found = {
                str(run.id): run
                for run in await session.scalars(
                    select(AutomationRun).where(AutomationRun.id.in_([uuid.UUID(i) for i in ids]))
                )
            }
        return [found[i] for i in ids]

    async def statuses(self, ids: list[str]) -> list[RunStatus]:
        return [run.status for run in await self.rows(ids)]

    async def finish(self, run_id: str) -> None:
        """Lets the run go on and waits for its workflow to end (whose ``finish_run``
        starts the run its end admitted, right after it commits). The run sets no timer,
        so nothing needs time to skip; letting it skip would carry the runs still waiting
        (for ever) on to the test server's execution timeout once it is idle."""
        run = handle(self.env, run_id)
        await run.signal(EVENT_SIGNAL, RunEvent(event_id=str(uuid.uuid4()), name=GO))
        with contextlib.suppress(WorkflowFailureError):
            await run.result()

    async def drain(self, ids: list[str], limit: int) -> None:
        """Finishes every run, oldest running first, checking the limit at each step."""
        while True:
            rows = await self.rows(ids)
            running = [str(run.id) for run in rows if run.status == RunStatus.running]
            assert len(running) <= limit
            if not running:
                assert all(run.finished_at is not None for run in rows)
                return
            await self.finish(running[0])


@pytest.fixture
def runs(
    committing_sessionmaker: async_sessionmaker[AsyncSession],
    temporal_env: WorkflowEnvironment,
    loopback_owner: Actor,
) -> Runs:
    return Runs(committing_sessionmaker, temporal_env, loopback_owner)


def posted(target: HttpTarget) -> list[Any]:
    return [request.body for request in target.requests]


async def workflow_exists(env: WorkflowEnvironment, run_id: str) -> bool:
    try:
        await env.client.get_workflow_handle(workflow_id(uuid.UUID(run_id))).describe()
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


async def test_a_full_automation_queues_runs_and_starts_them_in_order(
    temporal_api: AsyncClient, worker: Worker, target: HttpTarget, loopback_owner: Actor, runs: Runs
) -> None:
    automation_id = await active_automation(
        temporal_api, loopback_owner, limited(target, max_runs=1)
    )
    ids = [await start(temporal_api, loopback_owner, automation_id, {"n": n}) for n in (1, 2, 3)]
    assert await runs.statuses(ids) == [RunStatus.running, RunStatus.queued, RunStatus.queued]
    response = await temporal_api.get(f"{RUNS}/{ids[1]}", headers=loopback_owner.headers)
    assert response.json()["error"] == {
        "step": None,
        "message": "waiting for a free slot (1 running)",
    }
    assert not await workflow_exists(runs.env, ids[1])

    await runs.finish(ids[0])
    assert await runs.statuses(ids) == [RunStatus.succeeded, RunStatus.running, RunStatus.queued]
    await runs.finish(ids[1])
    assert await runs.statuses(ids) == [RunStatus.succeeded] * 2 + [RunStatus.running]
    await runs.finish(ids[2])
    rows = await runs.rows(ids)
    assert [run.status for run in rows] == [RunStatus.succeeded] * 3
    assert all(run.error is None for run in rows)
    assert posted(target) == [1, 2, 3]
    # An admitted run's start time is when it got its slot, after the run before it ended.
    assert rows[0].finished_at is not None and rows[1].finished_at is not None
    assert rows[0].finished_at <= rows[1].started_at <= rows[1].finished_at <= rows[2].started_at


async def test_a_canceled_queued_run_frees_nothing_and_never_starts(
    temporal_api: AsyncClient, worker: Worker, target: HttpTarget, loopback_owner: Actor, runs: Runs
) -> None:
    automation_id = await active_automation(
        temporal_api, loopback_owner, limited(target, max_runs=1)
    )
    ids = [await start(temporal_api, loopback_owner, automation_id, {"n": n}) for n in (1, 2, 3)]
    response = await temporal_api.post(f"{RUNS}/{ids[1]}/cancel", headers=loopback_owner.headers)
    assert response.status_code == 202, response.text
    # The slot is still held: the run behind the canceled one keeps waiting.
    assert await runs.statuses(ids) == [RunStatus.running, RunStatus.canceled, RunStatus.queued]
    await runs.finish(ids[0])
    assert await runs.statuses(ids) == [RunStatus.succeeded, RunStatus.canceled, RunStatus.running]
    await runs.finish(ids[2])
    assert posted(target) == [1, 3]
    assert not await workflow_exists(runs.env, ids[1])


async def test_a_start_first_admits_runs_left_waiting_beside_a_free_slot(
    temporal_api: AsyncClient, worker: Worker, target: HttpTarget, loopback_owner: Actor, runs: Runs
) -> None:
    automation_id = await active_automation(
        temporal_api, loopback_owner, limited(target, max_runs=1)
    )
    holder, waiting = [
        await start(temporal_api, loopback_owner, automation_id, {"n": n}) for n in (1, 2)
    ]
    # The slot frees without a release (as when a release passed over a run whose
    # cancel then rolled back): the run stays queued beside a free slot.
    async with tenant_session(loopback_owner.firm.id, runs.maker) as session:
        await session.execute(
            update(AutomationRun)
            .where(AutomationRun.id == uuid.UUID(holder))
            .values(status=RunStatus.canceled, finished_at=func.clock_timestamp())
        )
    assert await runs.statuses([waiting]) == [RunStatus.queued]
    # The next start admits it first, then queues behind it.
    later = await start(temporal_api, loopback_owner, automation_id, {"n": 3})
    assert await runs.statuses([waiting, later]) == [RunStatus.running, RunStatus.queued]
    # The holder's workflow, let go, finds its run over and calls nothing.
    await runs.finish(holder)
    await runs.finish(waiting)
    await runs.finish(later)
    assert posted(target) == [2, 3]


async def test_skip_records_why_and_the_run_never_starts(
    temporal_api: AsyncClient, worker: Worker, target: HttpTarget, loopback_owner: Actor, runs: Runs
) -> None:
    automation_id = await active_automation(
        temporal_api, loopback_owner, limited(target, max_runs=1, when_full="skip")
    )
    first = await start(temporal_api, loopback_owner, automation_id, {"n": 1})
    extra = await start(temporal_api, loopback_owner, automation_id, {"n": 2})
    (skipped,) = await runs.rows([extra])
    assert skipped.status == RunStatus.skipped and skipped.finished_at is not None
    assert skipped.error == {"step": None, "message": "skipped: 1 runs already running (limit 1)"}

    await runs.finish(first)
    assert await runs.statuses([first, extra]) == [RunStatus.succeeded, RunStatus.skipped]
    assert posted(target) == [1]
    assert not await workflow_exists(runs.env, extra)
    # Once the slot is free again, the next start runs.
    again = await start(temporal_api, loopback_owner, automation_id, {"n": 3})
    await runs.finish(again)
    assert posted(target) == [1, 3]


async def test_the_limit_applies_per_key(
    temporal_api: AsyncClient, worker: Worker, target: HttpTarget, loopback_owner: Actor, runs: Runs
) -> None:
    automation_id = await active_automation(
        temporal_api, loopback_owner, limited(target, max_runs=1, key="trigger.client_id")
    )
    a1 = await start(temporal_api, loopback_owner, automation_id, {"client_id": "a", "n": 1})
    b1 = await start(temporal_api, loopback_owner, automation_id, {"client_id": "b", "n": 2})
    a2 = await start(temporal_api, loopback_owner, automation_id, {"client_id": "a", "n": 3})
    rows = await runs.rows([a1, b1, a2])
    assert [run.status for run in rows] == [RunStatus.running, RunStatus.running, RunStatus.queued]
    assert [run.concurrency_key for run in rows] == ["a", "b", "a"]

    # Client b's run ending frees nothing for client a.
    await runs.finish(b1)
    assert await runs.statuses([a1, a2]) == [RunStatus.running, RunStatus.queued]
    await runs.finish(a1)
    assert await runs.statuses([a2]) == [RunStatus.running]
    await runs.finish(a2)
    assert posted(target) == [2, 1, 3]


async def test_a_key_expression_that_fails_fails_the_run(
    temporal_api: AsyncClient, worker: Worker, target: HttpTarget, loopback_owner: Actor, runs: Runs
) -> None:
    automation_id = await active_automation(
        temporal_api, loopback_owner, limited(target, max_runs=1, key="trigger.client.id")
    )
    run_id = await start(temporal_api, loopback_owner, automation_id, {"n": 1})
    (run,) = await runs.rows([run_id])
    assert run.status == RunStatus.failed and run.finished_at is not None
    assert run.error is not None
    assert run.error["message"].startswith("the concurrency key could not be evaluated: ")
    assert not await workflow_exists(runs.env, run_id)


async def test_concurrent_starts_never_exceed_the_limit(
    temporal_api: AsyncClient, worker: Worker, target: HttpTarget, loopback_owner: Actor, runs: Runs
) -> None:
    automation_id = await active_automation(
        temporal_api, loopback_owner, limited(target, max_runs=3)
    )
    ids = await asyncio.gather(
        *(start(temporal_api, loopback_owner, automation_id, {"n": n}) for n in range(10))
    )
    statuses = await runs.statuses(ids)
    assert statuses.count(RunStatus.running) == 3
    assert statuses.count(RunStatus.queued) == 7

    await runs.drain(ids, limit=3)
    assert await runs.statuses(ids) == [RunStatus.succeeded] * 10
    assert sorted(posted(target)) == list(range(10))


async def test_a_queued_resume_keeps_what_it_reuses(
    temporal_api: AsyncClient, worker: Worker, loopback_owner: Actor, runs: Runs
) -> None:
    with running_target({"/run": [500, 200]}) as target:
        draft = limited(target, max_runs=1)
        post = {"method": "POST", "body": "{{ trigger.n }}"}
        draft["start"] = "first"
        draft["steps"] = {
            "first": {
                "type": "http_request",
                "params": {**post, "url": target.url("/first")},
                "next": "gate",
            },
            # Only the run that holds the slot waits; the others go straight on.
            "gate": {
                "type": "condition",
                "params": {"expression": "trigger.hold"},
                "then": "wait",
                "else": "call",
            },
            "wait": draft["steps"]["wait"],
            "call": {
                "type": "http_request",
                "params": {**post, "url": target.url("/run")},
                "retry": {"max_attempts": 1},
            },
        }
        automation_id = await active_automation(temporal_api, loopback_owner, draft)
        failed = await start(temporal_api, loopback_owner, automation_id, {"n": 1, "hold": False})
        with contextlib.suppress(WorkflowFailureError):
            await handle(runs.env, failed).result()
        holder = await start(temporal_api, loopback_owner, automation_id, {"n": 2, "hold": True})
        response = await temporal_api.post(
            f"{RUNS}/{failed}/resume", headers=loopback_owner.headers
        )
        assert response.status_code == 201, response.text
        resumed = response.json()["id"]
        assert await runs.statuses([failed, holder, resumed]) == [
            RunStatus.failed,
            RunStatus.running,
            RunStatus.queued,
        ]
        await runs.finish(holder)
        await handle(runs.env, resumed).result()
        assert await runs.statuses([resumed]) == [RunStatus.succeeded]
        # Admitted later, the resume still reused the first call: only the failed one ran
        # again.
        assert target.paths() == ["/first", "/run", "/first", "/run", "/run"]
        assert posted(target) == [1, 1, 2, 2, 1]
        response = await temporal_api.get(f"{RUNS}/{resumed}", headers=loopback_owner.headers)
        steps = {step["step_id"]: step["status"] for step in response.json()["steps"]}
        assert steps == {"first": "reused", "gate": "succeeded", "call": "succeeded"}
