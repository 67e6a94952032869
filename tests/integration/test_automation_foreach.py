"""foreach end to end on the time-skipping server with the real worker and activities:
items never run more than ``max_concurrency`` at once (counted at a loopback server that
holds its answers), outputs come back in item order with per-item step rows and
idempotency keys, ``on_item_error`` "fail" stops starting items while "continue" reports
them, items that are not a list or too many fail the step,."""

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
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from tests.factories import Actor
from tests.integration.test_automation_run_workflow import (
    active_automation,
    actor,
    allow_loopback,
    definition,
    finished,
    handle,
    start,
    step_rows,
    target,
    worker,
)
from workflows.automation.foreach import (
    AutomationForeachWorkflow,
    foreach_workflow_id,
)
from workflows.automation.run import AutomationRunWorkflow

__all__ = ["actor", "target", "worker"]

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
    actor: Actor,
    counting: CountingServer,
) -> None:
    await allow_loopback(temporal_api, actor)
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
    automation_id = await active_automation(temporal_api, actor, draft)
    items = [10 * n for n in range(10)]
    run_id = await start(temporal_api, actor, automation_id, {"items": items})

    # Three items reach the server and are held there; no fourth starts meanwhile.
    assert await asyncio.to_thread(counting.wait_in_flight, 3)
    view = await foreach_view(handle(temporal_env, run_id))
    assert view.waiting.step_id == "each" and view.waiting.total == 10
    child = temporal_env.client.get_workflow_handle(
        foreach_workflow_id(uuid.UUID(run_id), "each", 1)
    )
    progress = await child.query(AutomationForeachWorkflow.progress)
    assert (progress.done, progress.total) == (0, 10)
    assert counting.in_flight == 3
    counting.gate.set()

    run = await finished(temporal_api, temporal_env, actor, run_id)
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
    temporal_api: AsyncClient, temporal_env: WorkflowEnvironment, worker: Worker, actor: Actor
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
    automation_id = await active_automation(temporal_api, actor, draft)
    run_id = await start(temporal_api, actor, automation_id, {"items": [0, 1, 2, 3]})
    run = await finished(temporal_api, temporal_env, actor, run_id)
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
    temporal_api: AsyncClient, temporal_env: WorkflowEnvironment, worker: Worker, actor: Actor
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
    automation_id = await active_automation(temporal_api, actor, draft)
    run_id = await start(temporal_api, actor, automation_id, {"items": list("abcdef")})
    run = await finished(temporal_api, temporal_env, actor, run_id)
    assert run["status"] == "failed"
    assert run["error"] == {"step": "each", "message": "item 2 failed: bad row c"}
    rows = step_rows(run)
    assert rows["each#1"]["status"] == "failed"
    started = {key.split(".")[1] for key in rows if key.startswith("each.")}
    # One at a time: items after the failed one never started.
    assert started == {"0", "1", "2"}


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
    actor: Actor,
    items: str,
    max_items: int,
    message: str,
) -> None:
    body = {"keep": {"type": "set", "params": {"vars": {"x": "{{ item }}"}}}}
    draft = definition("each", each=foreach_step(body, "keep", items=items, max_items=max_items))
    automation_id = await active_automation(temporal_api, actor, draft)
    payload = {"name": "not a list", "items": [1, 2, 3, 4, 5]}
    run = await finished(
        temporal_api, temporal_env, actor, await start(temporal_api, actor, automation_id, payload)
    )
    assert run["status"] == "failed"
    assert run["error"]["step"] == "each" and message in run["error"]["message"]
    assert not any(key.startswith("each.") for key in step_rows(run))
