"""foreach end to end on the time-skipping server with the real worker and activities:
items never run more than ``max_concurrency`` at once (counted at a loopback server that
holds its answers), outputs come back in item order with per-item step rows and
idempotency keys, ``on_item_error`` "fail" stops starting items while "continue" reports
them, items may call another automation (a run each), resume reuses the item actions that
succeeded, items that are not a list or too many fail the step, and 10,000 items complete
with every execution's history (the run's, and each continued-as-new execution of the
foreach child) far below Temporal's 50k-event limit."""

import asyncio
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from core.db import tenant_session
from models import AutomationRunStep
from tests.automations import (
    RUNS,
    active_automation,
    closed,
    definition,
    finished,
    handle,
    start,
    step_rows,
)
from tests.factories import Actor
from tests.fixtures.firms import allow_loopback
from tests.fixtures.temporal import result_skipping_time
from tests.http_target import HttpTarget
from workflows.automation.run.foreach import contracts as foreach
from workflows.automation.run.foreach.workflow import AutomationForeachWorkflow
from workflows.automation.run.workflow import AutomationRunWorkflow

# Far below the 50k limit, and what a foreach of 10,000 items must stay under.
HISTORY_BOUND = 20_000
# A bound on every wait for the server or a workflow to reach a state (never a sleep).
DEADLINE = 60.0
# How long 10,000 items may take on a slow, shared machine (about 35 s on two cores).
LONG_RUN = 600.0


@dataclass
class CountingServer:
    """A loopback HTTP server that counts requests in flight at once. While ``gate`` is
    closed every answer waits for it, so a test can look at a run with its items held."""

    port: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    paths: list[str] = field(default_factory=list)
    keys: list[str | None] = field(default_factory=list)
    gate: threading.Event = field(default_factory=threading.Event)
    lock: threading.Condition = field(default_factory=threading.Condition)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def arrive(self, path: str, key: str | None) -> None:
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.paths.append(path)
            self.keys.append(key)
            self.lock.notify_all()

    def leave(self) -> None:
        with self.lock:
            self.in_flight -= 1
            self.lock.notify_all()

    def wait_in_flight(self, count: int) -> bool:
        with self.lock:
            return self.lock.wait_for(lambda: self.in_flight >= count, DEADLINE)


@pytest.fixture
def counting() -> Iterator[CountingServer]:
    server_state = CountingServer()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: tests read the server's state."""

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            server_state.arrive(self.path, self.headers.get("Idempotency-Key"))
            try:
                server_state.gate.wait(DEADLINE)
                data = json.dumps({"item": int(self.path.rsplit("/", 1)[1])}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            finally:
                server_state.leave()

    class Server(ThreadingHTTPServer):
        daemon_threads = True

    server = Server(("127.0.0.1", 0), Handler)
    server_state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server_state
    finally:
        server_state.gate.set()
        server.shutdown()
        server.server_close()


def foreach_step(
    body: dict[str, Any], start: str, items: str = "trigger.items", **params: Any
) -> dict[str, Any]:
    return {
        "type": "foreach",
        "params": {"items": items, **params},
        "body": {"start": start, "steps": body},
    }


async def foreach_view(run_handle: WorkflowHandle[Any, Any]) -> Any:
    """The run's view once it shows its foreach wait (bounded)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE
    while loop.time() < deadline:
        view = await run_handle.query(AutomationRunWorkflow.progress)
        if view.waiting is not None and view.waiting.kind == "foreach":
            return view
    raise AssertionError("the run never showed its foreach wait")


async def test_items_never_exceed_max_concurrency_and_outputs_keep_item_order(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    committed_owner: Actor,
    counting: CountingServer,
) -> None:
    await allow_loopback(temporal_api, committed_owner)
    body = {
        "call": {
            "type": "http_request",
            "params": {"method": "POST", "url": counting.url("/items/{{ item }}")},
            "next": "shape",
        },
        "shape": {
            "type": "set",
            "params": {"vars": {"got": "{{ steps.call.output.body.item }}", "at": "{{ index }}"}},
        },
    }
    draft = definition(
        "each", each=foreach_step(body, "call", max_concurrency=3, on_item_error="fail")
    )
    automation_id = await active_automation(temporal_api, committed_owner, draft)
    items = [10 * n for n in range(10)]
    run_id = await start(temporal_api, committed_owner, automation_id, {"items": items})

    # Three items reach the server and are held there; no fourth starts meanwhile.
    assert await asyncio.to_thread(counting.wait_in_flight, 3)
    view = await foreach_view(handle(temporal_env, run_id))
    assert view.waiting.step_id == "each" and view.waiting.total == 10
    child = temporal_env.client.get_workflow_handle(
        foreach.workflow_id(uuid.UUID(run_id), "each", 1)
    )
    progress = await child.query(AutomationForeachWorkflow.progress)
    assert (progress.done, progress.total) == (0, 10)
    assert counting.in_flight == 3
    counting.gate.set()

    run = await finished(temporal_api, temporal_env, committed_owner, run_id)
    assert run["status"] == "succeeded", run
    assert counting.max_in_flight == 3
    assert sorted(counting.paths) == sorted(f"/items/{item}" for item in items)
    # One idempotency key per item: the item's step id is its own.
    assert len(set(counting.keys)) == 10
    rows = step_rows(run)
    output = rows["each#1"]["output"]
    assert output == {
        "items": [{"got": item, "at": index} for index, item in enumerate(items)],
        "errors": [],
        "count": 10,
    }
    position = rows["each#1"]["position"]
    for index in range(10):
        for body_step in ("call", "shape"):
            row = rows[f"each.{index}.{body_step}#1"]
            assert row["status"] == "succeeded" and row["position"] == position
    final = await handle(temporal_env, run_id).query(AutomationRunWorkflow.progress)
    assert final.waiting is None


async def test_on_item_error_continue_reports_each_failed_item(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    committed_owner: Actor,
) -> None:
    body = {
        "odd": {
            "type": "condition",
            "params": {"expression": "item % 2 == 1"},
            "then": "refuse",
            "else": "keep",
        },
        "refuse": {"type": "stop", "params": {"status": "failed", "message": "odd {{ item }}"}},
        "keep": {"type": "set", "params": {"vars": {"even": "{{ item }}"}}},
    }
    draft = definition(
        "each",
        each={
            **foreach_step(body, "odd", on_item_error="continue", max_concurrency=2),
            "next": "after",
        },
        after={"type": "set", "params": {"vars": {"n": "{{ steps.each.output.count }}"}}},
    )
    automation_id = await active_automation(temporal_api, committed_owner, draft)
    run_id = await start(temporal_api, committed_owner, automation_id, {"items": [0, 1, 2, 3]})
    run = await finished(temporal_api, temporal_env, committed_owner, run_id)
    assert run["status"] == "succeeded", run
    rows = step_rows(run)
    assert rows["each#1"]["output"] == {
        "items": [{"even": 0}, None, {"even": 2}, None],
        "errors": [
            {"index": 1, "step": "refuse", "message": "odd 1"},
            {"index": 3, "step": "refuse", "message": "odd 3"},
        ],
        "count": 4,
    }
    assert rows["after#1"]["output"] == {"n": 4}
    assert rows["each.1.refuse#1"]["output"] == {"status": "failed", "message": "odd 1"}


async def test_on_item_error_fail_stops_starting_items_and_fails_the_step(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    committed_owner: Actor,
) -> None:
    body = {
        "check": {
            "type": "condition",
            "params": {"expression": "index == 2"},
            "then": "boom",
            "else": "fine",
        },
        "boom": {"type": "stop", "params": {"status": "failed", "message": "bad row {{ item }}"}},
        "fine": {"type": "set", "params": {"vars": {"ok": "{{ item }}"}}},
    }
    draft = definition(
        "each", each=foreach_step(body, "check", max_concurrency=1, on_item_error="fail")
    )
    automation_id = await active_automation(temporal_api, committed_owner, draft)
    run_id = await start(temporal_api, committed_owner, automation_id, {"items": list("abcdef")})
    run = await finished(temporal_api, temporal_env, committed_owner, run_id)
    assert run["status"] == "failed"
    assert run["error"] == {"step": "each", "message": "item 2 failed: bad row c"}
    rows = step_rows(run)
    assert rows["each#1"]["status"] == "failed"
    started = {key.split(".")[1] for key in rows if key.startswith("each.")}
    # One at a time: items after the failed one never started.
    assert started == {"0", "1", "2"}


async def test_items_call_another_automation_each_with_a_run_of_its_own(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    committed_owner: Actor,
) -> None:
    called = await active_automation(
        temporal_api,
        committed_owner,
        definition(
            "double", double={"type": "set", "params": {"vars": {"n": "{{ trigger.n * 2 }}"}}}
        ),
    )
    body = {
        "call": {
            "type": "call_automation",
            "params": {"automation_id": called, "payload": {"n": "{{ item }}"}},
        }
    }
    draft = definition("each", each=foreach_step(body, "call", max_concurrency=2))
    automation_id = await active_automation(temporal_api, committed_owner, draft)
    run = await finished(
        temporal_api,
        temporal_env,
        committed_owner,
        await start(temporal_api, committed_owner, automation_id, {"items": [1, 2, 3]}),
    )
    assert run["status"] == "succeeded", run
    outputs = step_rows(run)["each#1"]["output"]["items"]
    assert [output["output"] for output in outputs] == [{"n": 2}, {"n": 4}, {"n": 6}]
    assert [output["status"] for output in outputs] == ["succeeded"] * 3
    # Each item's call made a run of its own (the dedupe key carries the item's step id).
    assert len({output["run_id"] for output in outputs}) == 3


async def test_cancelling_the_run_cancels_the_foreach_and_its_items(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    committed_owner: Actor,
    target: HttpTarget,
) -> None:
    await allow_loopback(temporal_api, committed_owner)
    body = {
        "wait": {"type": "delay", "params": {"seconds": 86400}, "next": "call"},
        "call": {
            "type": "http_request",
            "params": {"method": "POST", "url": target.url("/items/{{ item }}")},
        },
    }
    draft = definition("each", each=foreach_step(body, "wait", max_concurrency=2))
    automation_id = await active_automation(temporal_api, committed_owner, draft)
    run_id = await start(temporal_api, committed_owner, automation_id, {"items": [1, 2, 3]})
    # Time stands still on the test server unless a test waits on a result, so the items
    # stay in their delay while this looks.
    await foreach_view(handle(temporal_env, run_id))
    response = await temporal_api.post(f"{RUNS}/{run_id}/cancel", headers=committed_owner.headers)
    assert response.status_code == 202, response.text
    child = temporal_env.client.get_workflow_handle(
        foreach.workflow_id(uuid.UUID(run_id), "each", 1)
    )
    await closed(child)
    run = await finished(temporal_api, temporal_env, committed_owner, run_id)
    assert run["status"] == "canceled", run["error"]
    assert (await child.describe()).status == WorkflowExecutionStatus.CANCELED
    assert target.paths() == []


async def test_resume_reuses_the_item_actions_that_succeeded(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    committed_owner: Actor,
    target: HttpTarget,
) -> None:
    await allow_loopback(temporal_api, committed_owner)
    target.script = {"/items/1": [500, 200]}
    body = {
        "call": {
            "type": "http_request",
            "params": {"method": "POST", "url": target.url("/items/{{ item }}")},
            "retry": {"max_attempts": 1},
        }
    }
    draft = definition("each", each=foreach_step(body, "call", max_concurrency=1))
    automation_id = await active_automation(temporal_api, committed_owner, draft)
    failed = await finished(
        temporal_api,
        temporal_env,
        committed_owner,
        await start(temporal_api, committed_owner, automation_id, {"items": [0, 1, 2]}),
    )
    assert failed["status"] == "failed" and failed["error"]["step"] == "each"
    assert target.paths() == ["/items/0", "/items/1"]

    response = await temporal_api.post(
        f"{RUNS}/{failed['id']}/resume", headers=committed_owner.headers
    )
    assert response.status_code == 201, response.text
    resumed = await finished(temporal_api, temporal_env, committed_owner, response.json()["id"])
    assert resumed["status"] == "succeeded", resumed
    # Item 0 was not called again; the failed item and the one never started were.
    assert target.paths() == ["/items/0", "/items/1", "/items/1", "/items/2"]
    rows = step_rows(resumed)
    assert rows["each.0.call#1"]["status"] == "reused"
    assert rows["each.1.call#1"]["status"] == "succeeded"
    assert [item["status"] for item in rows["each#1"]["output"]["items"]] == [200, 200, 200]


@pytest.mark.parametrize(
    ("items", "max_items", "message"),
    [
        ("trigger.name", 10, "items must be a list, not str"),
        ("trigger.items", 3, "5 items; this foreach takes at most 3"),
        ("trigger.missing.deeper", 10, "missing"),
    ],
)
async def test_items_that_are_not_a_list_or_too_many_fail_the_step(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    committed_owner: Actor,
    items: str,
    max_items: int,
    message: str,
) -> None:
    body = {"keep": {"type": "set", "params": {"vars": {"x": "{{ item }}"}}}}
    draft = definition("each", each=foreach_step(body, "keep", items=items, max_items=max_items))
    automation_id = await active_automation(temporal_api, committed_owner, draft)
    payload = {"name": "not a list", "items": [1, 2, 3, 4, 5]}
    run = await finished(
        temporal_api,
        temporal_env,
        committed_owner,
        await start(temporal_api, committed_owner, automation_id, payload),
    )
    assert run["status"] == "failed"
    assert run["error"]["step"] == "each" and message in run["error"]["message"]
    assert not any(key.startswith("each.") for key in step_rows(run))


async def result_within(
    env: WorkflowEnvironment, run_handle: WorkflowHandle[Any, Any], seconds: float
) -> Any:
    """The run's result. The test server ends a result's long poll empty after about 30
    s (the SDK then raises "No completion event found"), and 10,000 items take longer than
    that on two cores: ask again until ``seconds`` have passed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        try:
            return await result_skipping_time(env, run_handle)
        except RuntimeError as exc:
            if "No completion event found" not in str(exc) or loop.time() > deadline:
                raise


async def _execution_lengths(env: WorkflowEnvironment, workflow_id: str) -> list[int]:
    """The history length of every execution under ``workflow_id``, following the chain
    of continue-as-new from the first execution."""
    first = await env.client.get_workflow_handle(workflow_id).describe()
    run_id: str | None = first.raw_description.workflow_execution_info.first_run_id or None
    lengths: list[int] = []
    while run_id:
        history = await env.client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        lengths.append(len(history.events))
        last = history.events[-1]
        run_id = None
        if last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
            run_id = last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
    return lengths


async def test_ten_thousand_items_complete_far_below_the_history_limit(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    committing_sessionmaker: async_sessionmaker[AsyncSession],
    worker: Worker,
    committed_owner: Actor,
    target: HttpTarget,
) -> None:
    await allow_loopback(temporal_api, committed_owner)
    body = {
        "pick": {
            "type": "condition",
            "params": {"expression": "index % 2500 == 0"},
            "then": "ping",
            "else": "double",
        },
        "ping": {
            "type": "http_request",
            "params": {"method": "POST", "url": target.url("/ping/{{ index }}")},
            "next": "double",
        },
        "double": {"type": "set", "params": {"vars": {"v": "{{ item * 2 }}"}}},
    }
    draft = definition(
        "each",
        each=foreach_step(
            body, "pick", items="range(trigger.n) | list", max_concurrency=20, max_items=10_000
        ),
    )
    automation_id = await active_automation(temporal_api, committed_owner, draft)
    run_id = await start(temporal_api, committed_owner, automation_id, {"n": 10_000})
    result = await result_within(temporal_env, handle(temporal_env, run_id), LONG_RUN)
    assert result["status"] == "succeeded", result

    async with tenant_session(committed_owner.firm.id, committing_sessionmaker) as session:
        each = (
            await session.execute(
                select(AutomationRunStep.status, AutomationRunStep.output).where(
                    AutomationRunStep.run_id == uuid.UUID(run_id),
                    AutomationRunStep.step_id == "each",
                )
            )
        ).one()
        rows = await session.scalar(
            select(func.count()).where(AutomationRunStep.run_id == uuid.UUID(run_id))
        )
    assert each.status.value == "succeeded"
    assert each.output["count"] == 10_000 and each.output["errors"] == []
    assert each.output["items"] == [{"v": 2 * index} for index in range(10_000)]
    # The foreach, two steps per item, and the four pings.
    assert rows == 1 + 2 * 10_000 + 4
    assert sorted(target.paths()) == sorted(f"/ping/{index}" for index in (0, 2500, 5000, 7500))

    run_lengths = await _execution_lengths(temporal_env, handle(temporal_env, run_id).id)
    child_lengths = await _execution_lengths(
        temporal_env, foreach.workflow_id(uuid.UUID(run_id), "each", 1)
    )
    assert len(child_lengths) > 1, "the foreach never continued as new"
    assert max(run_lengths + child_lengths) < HISTORY_BOUND, (run_lengths, child_lengths)
