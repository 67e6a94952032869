"""Automation runs per second beside the raw-SDK ceiling, measured in the same run.

    python bench/automation_throughput.py [--runs 200] [--seconds 120]

(a) The ceiling of bench/temporal_ceiling.py: workflows of 3 trivial activities.
(b) A published automation of 3 ``http_request`` steps (against an HTTP server in a
    subprocess on loopback, the firm's allow-list holding 127.0.0.1) and 10 control steps
    (condition, switch, set, stop), each run started the way the API starts one:
    ``services.automations.runs.start_run`` in a firm-scoped transaction, then the outbox
    fast path after commit, at most 8 starts at a time. A run counts once its workflow
    has returned; afterwards every measured run's ``automation_runs`` row must read
    ``succeeded``.

Both measurements use one Temporal dev server (SQLite WAL, started here), a worker in this
process, the same warm-up and the same number of workflows started at once; each stops at
its count or after ``--seconds``, whichever comes first. Also prints the Temporal activities
one run schedules, read from its workflow history (local activities are markers, listed
apart). Embedded Postgres under .data/bench-postgres, a fresh database each run.
"""

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from temporal_ceiling import WARMUP_WORKFLOWS, measure_ceiling
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from activities import build_activities
from activities.unit_of_work import firm_transaction
from core import embedded, migrate
from core.config import Settings
from core.db import APP_ROLE, tenant_session
from core.principal import Principal
from core.roles import Role
from core.temporal import TASK_QUEUE, ensure_search_attributes, fixed_client
from launcher.processes import Deadline, free_port, spawn
from launcher.temporal import temporal_dev_server
from models import AutomationRun, AutomationStatus, RunStatus, RunTrigger
from services.automations import automations
from services.automations.automations import AutomationFields
from services.automations.runs import start_run
from services.firm_settings import HttpAllowlist, set_http_allowlist
from services.firms import create_firm_with_owner
from workflows.automation.run.contracts import workflow_id
from workflows.automation.run.workflow import AutomationRunWorkflow
from workflows.registry import workflow_runner

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "firmflow_bench_automation"
HTTP_STEPS = 3
CONTROL_STEPS = 10
LOCAL_ACTIVITY_MARKER = "core_local_activity"
# Runs being started at once, as by a few API processes: each start holds a pooled
# connection, and the activities of the runs already started need the others.
CONCURRENT_STARTS = 8

# The loopback server the http_request steps call: HTTP/1.1 keep-alive, a small JSON body,
# in its own process so that serving it does not share this process's interpreter.
_SERVER = """
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BODY = b'{"kind": "ok", "amount": 42}'

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
server.daemon_threads = True
try:
    server.serve_forever()
except KeyboardInterrupt:
    pass
"""


def definition(base_url: str) -> dict[str, Any]:
    """3 http_request steps and 10 control steps on the path every run takes (the
    ``failed`` stop is only reached when a check fails)."""
    steps: dict[str, Any] = {
        "init": {"type": "set", "params": {"vars": {"n": "{{ trigger.n }}"}}, "next": "gate"},
        "gate": {
            "type": "condition",
            "params": {"expression": "vars.n >= 0"},
            "then": "call1",
            "else": "failed",
        },
        "call1": {
            "type": "http_request",
            "params": {"url": f"{base_url}/one?n={{{{ vars.n }}}}"},
            "next": "check1",
        },
        "check1": {
            "type": "condition",
            "params": {"expression": "steps.call1.output.status == 200"},
            "then": "keep1",
            "else": "failed",
        },
        "keep1": {
            "type": "set",
            "params": {"vars": {"first": "{{ steps.call1.output.body.amount }}"}},
            "next": "call2",
        },
        "call2": {
            "type": "http_request",
            "params": {"url": f"{base_url}/two?n={{{{ vars.n }}}}"},
            "next": "route",
        },
        "route": {
            "type": "switch",
            "params": {"value": "steps.call2.output.body.kind"},
            "cases": {"ok": "keep2"},
            "default": "failed",
        },
        "keep2": {
            "type": "set",
            "params": {"vars": {"second": "{{ vars.first + steps.call2.output.body.amount }}"}},
            "next": "call3",
        },
        "call3": {
            "type": "http_request",
            "params": {"url": f"{base_url}/three?n={{{{ vars.n }}}}"},
            "next": "check3",
        },
        "check3": {
            "type": "condition",
            "params": {"expression": "steps.call3.output.status == 200"},
            "then": "keep3",
            "else": "failed",
        },
        "keep3": {
            "type": "set",
            "params": {"vars": {"third": "{{ vars.second + steps.call3.output.body.amount }}"}},
            "next": "tally",
        },
        "tally": {
            "type": "set",
            "params": {"vars": {"total": "{{ vars.third }}"}},
            "next": "done",
        },
        "done": {"type": "stop", "params": {"status": "succeeded"}},
        "failed": {"type": "stop", "params": {"status": "failed", "message": "a check failed"}},
    }
    return {"schema_version": 1, "trigger": {"type": "manual"}, "start": "init", "steps": steps}


@dataclass(frozen=True)
class Bench:
    settings: Settings
    maker: async_sessionmaker[AsyncSession]
    client: Client
    firm_id: uuid.UUID
    principal: Principal
    automation_id: uuid.UUID


@dataclass(frozen=True)
class Rate:
    completed: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.completed / self.seconds


def prepare_database() -> tuple[str, str]:
    """A fresh, migrated database; (runtime URL, owner URL)."""
    server = embedded.start(ROOT / ".data" / "bench-postgres")
    embedded.drop_database(server.superuser_dsn(), DATABASE)
    embedded.ensure_database(server.superuser_dsn(), DATABASE)
    owner_url = server.url(embedded.OWNER_ROLE, DATABASE)
    migrate.upgrade(owner_url)
    return server.url(APP_ROLE, DATABASE), owner_url


@asynccontextmanager
async def http_server() -> AsyncIterator[str]:
    port = free_port()
    argv = [sys.executable, "-c", _SERVER, str(port)]
    server = await spawn("bench HTTP server", argv, os.environ)
    try:
        deadline = Deadline(30)
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                if server.exited or deadline.expired:
                    raise RuntimeError("the loopback HTTP server did not start") from None
                await asyncio.sleep(0.05)
            else:
                writer.close()
                await writer.wait_closed()
                break
        yield f"http://127.0.0.1:{port}"
    finally:
        await server.stop()


async def create_automation(
    maker: async_sessionmaker[AsyncSession], base_url: str
) -> tuple[uuid.UUID, Principal, uuid.UUID]:
    """A firm whose allow-list holds 127.0.0.1, and its published, active automation;
    (firm id, its owner as a principal, automation id)."""
    suffix = uuid.uuid4().hex[:8]
    async with maker() as session, session.begin():
        created = await create_firm_with_owner(
            session,
            firm_name="Bench Firm",
            slug=f"bench-{suffix}",
            owner_email=f"bench-{suffix}@example.com",
            owner_password=uuid.uuid4().hex,
        )
        firm_id, owner_id = created.firm.id, created.owner.id
    principal = Principal(firm_id=firm_id, user_id=owner_id, role=Role.owner, credential="session")
    async with tenant_session(firm_id, maker) as session:
        await set_http_allowlist(session, principal, allowlist=HttpAllowlist(entries=["127.0.0.1"]))
        automation = await automations.create_automation(
            session,
            principal,
            fields=AutomationFields(name="Three calls"),
            draft=definition(base_url),
        )
        await automations.publish(session, principal, automation.id)
        await automations.set_status(session, principal, automation.id, AutomationStatus.active)
        automation_id = automation.id
    return firm_id, principal, automation_id


async def start_one(bench: Bench, n: int) -> uuid.UUID:
    """One run as the API starts it: the row and its outbox message in one transaction,
    then the fast path starts the workflow after the commit."""
    temporal = fixed_client(bench.client)
    async with firm_transaction(bench.maker, bench.firm_id, temporal) as session:
        automation = await automations.get_automation(session, bench.principal, bench.automation_id)
        run, _ = await start_run(
            session, bench.principal, automation, payload={"n": n}, trigger=RunTrigger.manual
        )
    return run.id


async def run_batch(bench: Bench, count: int, seconds: float) -> tuple[Rate, list[uuid.UUID]]:
    """Start ``count`` runs at once and wait for their workflows; (rate, ids of the runs
    that finished in time)."""
    finished: list[uuid.UUID] = []
    starting = asyncio.Semaphore(CONCURRENT_STARTS)

    async def one(n: int) -> None:
        async with starting:
            run_id = await start_one(bench, n)
        await bench.client.get_workflow_handle(workflow_id(run_id)).result()
        finished.append(run_id)

    started = time.perf_counter()
    tasks = [asyncio.create_task(one(n)) for n in range(count)]
    done, pending = await asyncio.wait(tasks, timeout=seconds)
    elapsed = time.perf_counter() - started
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for task in done:
        task.result()
    return Rate(len(finished), elapsed), finished


async def succeeded_rows(bench: Bench, run_ids: list[uuid.UUID]) -> int:
    async with tenant_session(bench.firm_id, bench.maker) as session:
        count = await session.scalar(
            select(func.count())
            .select_from(AutomationRun)
            .where(AutomationRun.id.in_(run_ids), AutomationRun.status == RunStatus.succeeded)
        )
    return int(count or 0)


async def history_counts(client: Client, run_id: uuid.UUID) -> tuple[int, int]:
    """(activities scheduled, local-activity markers) in one run's workflow history."""
    history = await client.get_workflow_handle(workflow_id(run_id)).fetch_history()
    scheduled = markers = 0
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            scheduled += 1
        elif (
            event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
            and event.marker_recorded_event_attributes.marker_name == LOCAL_ACTIVITY_MARKER
        ):
            markers += 1
    return scheduled, markers


async def bounded(measure: Callable[[], Awaitable[float]], seconds: float) -> float | None:
    try:
        async with asyncio.timeout(seconds):
            return await measure()
    except TimeoutError:
        return None


async def run(runs: int, seconds: float) -> None:
    print(
        f"automation throughput: {runs} runs after {WARMUP_WORKFLOWS} to warm up, each"
        f" measurement capped at {seconds:.0f} s; Temporal dev server (SQLite WAL)",
        flush=True,
    )
    runtime_url, owner_url = await asyncio.to_thread(prepare_database)
    with tempfile.TemporaryDirectory(prefix="firmflow-bench-temporal-") as directory:
        async with http_server() as base_url, temporal_dev_server(Path(directory)) as address:
            ceiling = await bounded(lambda: measure_ceiling(address, runs), seconds)

            settings = Settings(
                database_url=runtime_url,
                migration_database_url=owner_url,
                temporal_address=address,
                encryption_keys=Fernet.generate_key().decode(),
                _env_file=None,
            )
            engine = create_async_engine(
                settings.runtime_url,
                pool_size=settings.db_pool_size,
                max_overflow=settings.db_pool_size,
            )
            try:
                maker = async_sessionmaker(engine, expire_on_commit=False)
                client = await Client.connect(address, data_converter=pydantic_data_converter)
                await ensure_search_attributes(client)
                firm_id, principal, automation_id = await create_automation(maker, base_url)
                bench = Bench(settings, maker, client, firm_id, principal, automation_id)
                worker = Worker(
                    client,
                    task_queue=TASK_QUEUE,
                    workflows=[AutomationRunWorkflow],
                    activities=build_activities(settings, maker, fixed_client(client)),
                    workflow_runner=workflow_runner(),
                )
                async with worker:
                    await run_batch(bench, WARMUP_WORKFLOWS, seconds)
                    rate, finished = await run_batch(bench, runs, seconds)
                succeeded = await succeeded_rows(bench, finished)
                scheduled, markers = (
                    await history_counts(client, finished[0]) if finished else (0, 0)
                )
            finally:
                await engine.dispose()

    if ceiling is None:
        print(f"  (a) raw SDK, 3 trivial activities: did not finish {runs} in {seconds:.0f} s")
    else:
        print(f"  (a) raw SDK, 3 trivial activities:      {ceiling:7.1f} workflows/s")
    print(
        f"  (b) automation, {HTTP_STEPS} http_request + {CONTROL_STEPS} control steps:"
        f" {rate.per_second:7.1f} runs/s ({rate.completed}/{runs} in {rate.seconds:.1f} s;"
        f" {succeeded} rows succeeded)"
    )
    if ceiling is not None:
        print(f"  ratio automation/raw SDK: {rate.per_second / ceiling:.2f} (goal >= 0.9)")
    print(
        f"  Temporal activities per run: {scheduled} scheduled (goal {HTTP_STEPS}),"
        f" {markers} local-activity marker(s)",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=120.0)
    args = parser.parse_args()
    asyncio.run(run(args.runs, args.seconds))
    sys.stdout.flush()
    # The SDK's native threads can crash interpreter teardown (temporalio/sdk-python#300);
    # the figures are printed, so leave without it rather than fail `make bench`.
    os._exit(0)


if __name__ == "__main__":
    main()
