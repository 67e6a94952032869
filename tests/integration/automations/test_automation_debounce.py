"""Debounce end to end: runs started through the API queue in their key's debounce window
(AutomationDebounceWorkflow, reached by the outbox's signal-with-start on the
time-skipping server); when the window closes, the real ``settle_debounce`` activity lets
the last run go on and skips the others. Each run posts its trigger's ``n`` to a loopback
server, so the server's log says which runs really ran."""

import hashlib
import uuid
from datetime import timedelta
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from core.temporal import TASK_QUEUE
from models import RunStatus
from services.automations.admission import DEBOUNCE_REASON, SUPERSEDED_REASON
from tests.automations import active_automation, handle, start
from tests.factories import Actor
from tests.http_target import HttpTarget
from tests.integration.automations.test_automation_concurrency_limit import GO, Runs, posted
from workflows.automation.debounce import contracts as debounce
from workflows.automation.debounce.contracts import DebounceInput, DebounceTrigger
from workflows.automation.debounce.workflow import AutomationDebounceWorkflow

RUNS = "/v1/automation-runs"
WINDOW = 60


@pytest.fixture
def runs(
    committing_sessionmaker: async_sessionmaker[AsyncSession],
    temporal_env: WorkflowEnvironment,
    loopback_owner: Actor,
) -> Runs:
    return Runs(committing_sessionmaker, temporal_env, loopback_owner)


def debounced(target: HttpTarget, **extra: Any) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "trigger": {"type": "manual"},
        "debounce": {"window": WINDOW, **extra},
        "start": "call",
        "steps": {
            "call": {
                "type": "http_request",
                "params": {"method": "POST", "url": target.url("/run"), "body": "{{ trigger.n }}"},
            }
        },
    }


def window(
    env: WorkflowEnvironment, automation_id: str, key: str | None = None
) -> WorkflowHandle[Any, Any]:
    key_hash = None if key is None else hashlib.sha256(key.encode()).hexdigest()[:16]
    return env.client.get_workflow_handle(debounce.workflow_id(uuid.UUID(automation_id), key_hash))


async def close(runs: Runs, automation_id: str, *keys: str | None) -> None:
    """Moves the server's clock on by exactly the window, so the keys' windows close, and
    waits until each was settled (the settle starts the winner's workflow right after it
    commits). Exactly the window: skipping time until the debounce workflow ends would let
    the server run on, once it is idle, past the timeouts of runs that are still waiting."""
    await runs.env.sleep(timedelta(seconds=WINDOW))
    for key in keys or (None,):
        await window(runs.env, automation_id, key).result()


async def ended(runs: Runs, run_id: str) -> None:
    await handle(runs.env, run_id).result()


async def test_only_the_last_trigger_within_the_window_runs(
    temporal_api: AsyncClient, worker: Worker, target: HttpTarget, loopback_owner: Actor, runs: Runs
) -> None:
    automation_id = await active_automation(temporal_api, loopback_owner, debounced(target))
    ids = [await start(temporal_api, loopback_owner, automation_id, {"n": n}) for n in range(1, 6)]
    rows = await runs.rows(ids)
    assert [run.status for run in rows] == [RunStatus.queued] * 5
    assert all(run.error == {"step": None, "message": DEBOUNCE_REASON} for run in rows)
    described = await window(runs.env, automation_id).describe()
    assert described.workflow_type == debounce.WORKFLOW_NAME

    await close(runs, automation_id)
    *earlier, last = await runs.rows(ids)
    for run in earlier:
        assert run.status == RunStatus.skipped and run.finished_at is not None
        assert run.error == {"step": None, "message": SUPERSEDED_REASON}
    assert last.status in (RunStatus.running, RunStatus.succeeded) and last.error is None
    assert last.trigger_payload == {"n": 5}
    await ended(runs, ids[-1])
    assert await runs.statuses(ids) == [RunStatus.skipped] * 4 + [RunStatus.succeeded]
    assert posted(target) == [5]
    response = await temporal_api.get(f"{RUNS}/{ids[0]}", headers=loopback_owner.headers)
    assert response.json()["status"] == "skipped"
    assert response.json()["error"]["message"] == SUPERSEDED_REASON


async def test_triggers_in_separate_windows_run_separately(
    temporal_api: AsyncClient, worker: Worker, target: HttpTarget, loopback_owner: Actor, runs: Runs
) -> None:
    automation_id = await active_automation(temporal_api, loopback_owner, debounced(target))
    first = await start(temporal_api, loopback_owner, automation_id, {"n": 1})
    await close(runs, automation_id)
    await ended(runs, first)
    # The first window's workflow has ended; the next trigger opens a new one.
    second = await start(temporal_api, loopback_owner, automation_id, {"n": 2})
    assert await runs.statuses([second]) == [RunStatus.queued]
    await close(runs, automation_id)
    await ended(runs, second)
    assert await runs.statuses([first, second]) == [RunStatus.succeeded] * 2
    assert posted(target) == [1, 2]


async def test_each_key_has_its_own_window(
    temporal_api: AsyncClient, worker: Worker, target: HttpTarget, loopback_owner: Actor, runs: Runs
) -> None:
    automation_id = await active_automation(
        temporal_api, loopback_owner, debounced(target, key="trigger.client_id")
    )
    a1 = await start(temporal_api, loopback_owner, automation_id, {"client_id": "a", "n": 1})
    b1 = await start(temporal_api, loopback_owner, automation_id, {"client_id": "b", "n": 2})
    a2 = await start(temporal_api, loopback_owner, automation_id, {"client_id": "a", "n": 3})
    await close(runs, automation_id, "a", "b")
    await ended(runs, b1)
    await ended(runs, a2)
    assert await runs.statuses([a1, b1, a2]) == [
        RunStatus.skipped,
        RunStatus.succeeded,
        RunStatus.succeeded,
    ]
    assert sorted(posted(target)) == [2, 3]


async def test_the_last_run_of_a_window_goes_through_the_concurrency_limit(
    temporal_api: AsyncClient, worker: Worker, target: HttpTarget, loopback_owner: Actor, runs: Runs
) -> None:
    draft = debounced(target)
    draft["concurrency"] = {"max_runs": 1, "when_full": "skip"}
    draft["steps"] = {
        "wait": {"type": "wait_for_event", "params": {"event": GO}, "next": "call"},
        "call": draft["steps"]["call"],
    }
    draft["start"] = "wait"
    automation_id = await active_automation(temporal_api, loopback_owner, draft)
    first = await start(temporal_api, loopback_owner, automation_id, {"n": 1})
    await close(runs, automation_id)
    assert await runs.statuses([first]) == [RunStatus.running]
    # The first run still waits for its event: the next window's winner finds no slot.
    second = await start(temporal_api, loopback_owner, automation_id, {"n": 2})
    await close(runs, automation_id)
    (skipped,) = await runs.rows([second])
    assert skipped.status == RunStatus.skipped
    assert skipped.error == {"step": None, "message": "skipped: 1 runs already running (limit 1)"}
    await runs.finish(first)
    assert posted(target) == [1]


async def test_a_retry_of_a_debounced_run_is_not_debounced_again(
    temporal_api: AsyncClient, worker: Worker, target: HttpTarget, loopback_owner: Actor, runs: Runs
) -> None:
    automation_id = await active_automation(temporal_api, loopback_owner, debounced(target))
    superseded = await start(temporal_api, loopback_owner, automation_id, {"n": 1})
    last = await start(temporal_api, loopback_owner, automation_id, {"n": 2})
    await close(runs, automation_id)
    await ended(runs, last)
    response = await temporal_api.post(
        f"{RUNS}/{superseded}/retry", json={"version": "original"}, headers=loopback_owner.headers
    )
    assert response.status_code == 201, response.text
    retry = response.json()["id"]
    assert await runs.statuses([retry]) in ([RunStatus.running], [RunStatus.succeeded])
    await ended(runs, retry)
    assert posted(target) == [2, 1]


async def test_a_key_expression_that_fails_fails_the_run(
    temporal_api: AsyncClient, worker: Worker, target: HttpTarget, loopback_owner: Actor, runs: Runs
) -> None:
    automation_id = await active_automation(
        temporal_api, loopback_owner, debounced(target, key="trigger.client.id")
    )
    run_id = await start(temporal_api, loopback_owner, automation_id, {"n": 1})
    (run,) = await runs.rows([run_id])
    assert run.status == RunStatus.failed and run.finished_at is not None
    assert run.error is not None
    assert run.error["message"].startswith("the debounce key could not be evaluated: ")
    assert posted(target) == []


async def test_a_key_that_never_goes_quiet_continues_as_new_and_keeps_its_runs(
    temporal_api: AsyncClient, worker: Worker, target: HttpTarget, loopback_owner: Actor, runs: Runs
) -> None:
    automation_id = await active_automation(temporal_api, loopback_owner, debounced(target))
    # The key's window, opened with a short history limit so that a few triggers make it
    # continue as new. Its first trigger names a run that is not waiting (as a late,
    # repeated delivery would): the settle passes over it.
    first = await runs.env.client.start_workflow(
        AutomationDebounceWorkflow.run,
        DebounceInput(
            firm_id=loopback_owner.firm.id,
            automation_id=uuid.UUID(automation_id),
            window=WINDOW,
            max_history=20,
        ),
        id=window(runs.env, automation_id).id,
        task_queue=TASK_QUEUE,
        start_signal=debounce.TRIGGER_SIGNAL,
        start_signal_args=[DebounceTrigger(run_id=uuid.uuid4(), window=WINDOW)],
    )
    ids = [await start(temporal_api, loopback_owner, automation_id, {"n": n}) for n in range(1, 7)]
    await close(runs, automation_id)
    await ended(runs, ids[-1])
    assert await runs.statuses(ids) == [RunStatus.skipped] * 5 + [RunStatus.succeeded]
    assert posted(target) == [6]
    opened = runs.env.client.get_workflow_handle(first.id, run_id=first.result_run_id)
    history = await opened.fetch_history()
    assert history.events[-1].HasField("workflow_execution_continued_as_new_event_attributes")
