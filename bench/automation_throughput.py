"""Automation runs per second beside the same work written by hand in plain Temporal, with
the CPU each process spends per run, measured in one run.

    python bench/automation_throughput.py [--runs 200] [--rounds 2] [--seconds 120]

(a) The ceiling of bench/temporal_ceiling.py: workflows of 3 trivial activities, the worker
    in this process.
(b) The baseline: bench/handwritten_workflow.py, the automation's work written by hand as a
    plain Temporal user would: 3 GETs to the loopback server as local activities through
    one httpx client the worker keeps open, the checks in plain Python, one row inserted in
    a table of the bench's own (a local activity too). Its worker is
    bench/handwritten_worker.py in a process of its own; runs start with
    ``client.start_workflow`` (no API, no outbox).
(c) The automation: a published, active automation of 3 ``http_request`` steps and 10
    control steps (condition, switch, set, stop), triggered by its signed inbound webhook
    (``POST /v1/inbound-webhooks/<token>``) on the real API in a uvicorn subprocess, run by
    the real worker (``python -m launcher worker``, as ``make dev`` starts it) in its own
    process. Afterwards every measured run's ``automation_runs`` row must read
    ``succeeded``.

(b) and (c) run side by side (both workers and the API up throughout): each warms up, then
they take turns in ``--rounds`` rounds (b c, c b, …) of ``--runs / --rounds`` runs, with at
most 8 starts in flight, so that a change in the machine's load falls on both alike; each
round stops at its count or after ``--seconds / --rounds``. A run counts once its workflow
has returned. For (b) and (c) the script prints the CPU time of the worker, the Temporal
server, the API and Postgres per run (utime + stime from /proc/<pid>/stat over the measured
rounds, each process with its descendants and the children they reaped), the history events
per run and the activities and local activities per run (``ActivityTaskScheduled`` and
``core_local_activity`` markers). The load generator (this process: its starts, its webhook
requests and its waits for results) is printed apart and counted in none of the four.

One Temporal dev server (SQLite WAL) for all three; an embedded Postgres of this bench's own
under .data/bench-automation/postgres (its CPU is then this bench's alone), a fresh
database each run, stopped at the end; the workers' logs beside it.
"""

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet
from handwritten_worker import COUNT_ROWS, CREATE_TABLE, GRANT_TABLE
from handwritten_workflow import CallsInput, HandwrittenThreeCalls
from http_load import client as http_client
from http_load import uvicorn_api
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool
from temporal_ceiling import WARMUP_WORKFLOWS, measure_ceiling
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from core import embedded, migrate
from core.crypto import Cipher
from core.db import APP_ROLE, tenant_session
from core.principal import Principal
from core.roles import Role
from core.temporal import ensure_search_attributes
from launcher.postgres import stop_embedded_postgres
from launcher.processes import Child, Deadline, free_port, spawn
from launcher.temporal import temporal_dev_server
from models import AutomationRun, AutomationStatus, RunStatus
from services.automations import automations, inbound_webhooks
from services.automations.automations import AutomationFields
from services.firm_settings import HttpAllowlist, set_http_allowlist
from services.firms import create_firm_with_owner
from workflows.automation.run.contracts import workflow_id

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
# This bench's own: its Postgres (so that Postgres's CPU is this bench's alone) and the
# logs of the processes it starts, overwritten each run.
DATA = ROOT / ".data" / "bench-automation"
PGDATA = DATA / "postgres"
DATABASE = "firmflow_bench_automation"
HANDWRITTEN_QUEUE = "bench-handwritten"
HTTP_STEPS = 3
CONTROL_STEPS = 10
# The HTTP deadline of each call, the one the hand-written workflow gives its GETs: short
# enough that the engine runs the steps as local activities, as it does the hand-written ones.
HTTP_TIMEOUT = 10
LOCAL_ACTIVITY_MARKER = "core_local_activity"
# Runs being started at once, as by a few senders: the webhook requests' keep-alive
# connections for (c), the same number of start_workflow calls for (b).
CONCURRENT_STARTS = 8
# Histories read per measurement for the per-run event counts.
HISTORY_SAMPLE = 10
GOAL_RATIO = 0.9
GOAL_CPU_MS = 100
GOAL_EVENTS = 12


# The loopback server the http_request steps call: HTTP/1.1 keep-alive, a small JSON body,
# in its own process so that serving it does not share this process's interpreter.
_SERVER = """
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BODY = b'{"kind": "ok", "amount": 42}'

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes: with Nagle's algorithm a reused connection
    # would hold the second for the client's delayed ACK (about 40 ms).
    disable_nagle_algorithm = True

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
            "params": {"url": f"{base_url}/one?n={{{{ vars.n }}}}", "timeout": HTTP_TIMEOUT},
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
            "params": {"url": f"{base_url}/two?n={{{{ vars.n }}}}", "timeout": HTTP_TIMEOUT},
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
            "params": {"url": f"{base_url}/three?n={{{{ vars.n }}}}", "timeout": HTTP_TIMEOUT},
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
    return {"schema_version": 1, "trigger": {"type": "webhook"}, "start": "init", "steps": steps}


# CPU time ------------------------------------------------------------------------------

_TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")


def _processes() -> dict[int, tuple[int, int]]:
    """Every process: pid → (parent pid, CPU ticks of it and of the children it reaped)."""
    found: dict[int, tuple[int, int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as stat:
                raw = stat.read()
        except OSError:  # it exited meanwhile
            continue
        # After the command name (which may hold spaces): state, ppid, … utime, stime,
        # cutime, cstime are fields 14 to 17 of proc(5).
        fields = raw[raw.rindex(b")") + 2 :].split()
        found[int(entry.name)] = (int(fields[1]), sum(int(f) for f in fields[11:15]))
    return found


def _tree_ticks(processes: Mapping[int, tuple[int, int]], root: int) -> int:
    """A process with its live descendants; those that exited are in their parent's
    cutime/cstime once reaped (Postgres backends by the postmaster)."""
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in processes.items():
        children.setdefault(parent, []).append(pid)
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        if pid in processes:
            total += processes[pid][1]
            todo.extend(children.get(pid, []))
    return total


def cpu_snapshot(roots: Mapping[str, int]) -> dict[str, int]:
    processes = _processes()
    return {name: _tree_ticks(processes, pid) for name, pid in roots.items()}


def _argv(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read().decode(errors="replace").split("\0")
    except OSError:
        return []


def child_with(*words: str) -> int:
    """The pid of this script's child process whose command line holds every word."""
    me = os.getpid()
    for pid, (parent, _) in _processes().items():
        if parent == me and all(word in _argv(pid) for word in words):
            return pid
    raise RuntimeError(f"no child process runs {' '.join(words)}")


def postmaster_pid() -> int:
    return int((PGDATA / "postmaster.pid").read_text().split()[0])


@dataclass(frozen=True)
class Cpu:
    """Milliseconds of CPU per completed run, per component, over the measured windows."""

    per_run: dict[str, float]
    load_generator: float

    @property
    def total(self) -> float:
        return sum(self.per_run.values())


def _own_ms() -> float:
    """This process alone (its threads, none of its children)."""
    times = os.times()
    return (times.user + times.system) * 1000


class CpuWindow:
    def __init__(self, roots: Mapping[str, int]) -> None:
        self.roots = dict(roots)

    def __enter__(self) -> "CpuWindow":
        self.before, self.own_before = cpu_snapshot(self.roots), _own_ms()
        return self

    def __exit__(self, *exc: object) -> None:
        self.after, self.own_after = cpu_snapshot(self.roots), _own_ms()

    def milliseconds(self) -> dict[str, float]:
        return {name: (self.after[name] - self.before[name]) * _TICK_MS for name in self.after}

    def own_milliseconds(self) -> float:
        return self.own_after - self.own_before


# Database, loopback server, processes --------------------------------------------------


@dataclass(frozen=True)
class Urls:
    app: str
    owner: str


def prepare_database() -> Urls:
    """A fresh, migrated database in this bench's own server, with the baseline's table
    (created by the owner, written by the app role like every product table)."""
    server = embedded.start(PGDATA)
    embedded.drop_database(server.superuser_dsn(), DATABASE)
    embedded.ensure_database(server.superuser_dsn(), DATABASE)
    urls = Urls(app=server.url(APP_ROLE, DATABASE), owner=server.url(embedded.OWNER_ROLE, DATABASE))
    migrate.upgrade(urls.owner)
    engine = create_engine(urls.owner, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            connection.execute(text(CREATE_TABLE))
            connection.execute(text(GRANT_TABLE))
    finally:
        engine.dispose()
    return urls


def count_handwritten_rows(owner_url: str, workflow_ids: list[str]) -> int:
    engine = create_engine(owner_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            count = connection.execute(
                text(COUNT_ROWS),
                {"ids": workflow_ids},
            ).scalar_one()
    finally:
        engine.dispose()
    return int(count)


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


@asynccontextmanager
async def child_process(
    name: str, log: str, argv: list[str], env: Mapping[str, str]
) -> AsyncIterator[Child]:
    """A worker or the API, its output in ``DATA/<log>`` (a loaded machine makes the SDK
    warn about every slow workflow task)."""
    with (DATA / log).open("wb") as output:
        child = await spawn(name, argv, env, stdout=output)
    try:
        yield child
    finally:
        await child.stop()


def product_env(urls: Urls, temporal: str, encryption_key: str) -> dict[str, str]:
    """What the launcher gives the API and the worker: the app role only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIRMFLOW_")}
    env.update(
        FIRMFLOW_DATABASE_URL=urls.app,
        FIRMFLOW_TEMPORAL_ADDRESS=temporal,
        FIRMFLOW_ENCRYPTION_KEYS=encryption_key,
        # Below INFO: no line per request or per run.
        FIRMFLOW_LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    return env


# Measurements ---------------------------------------------------------------------------

# Starts run number n; returns its workflow id.
Start = Callable[[int], Awaitable[str]]


@dataclass
class System:
    """(b) or (c): how its runs start, the processes its CPU is read from, and what its
    measured batches add up to."""

    label: str
    start: Start
    roots: dict[str, int]
    finished: list[str] = field(default_factory=list)
    seconds: float = 0.0
    cpu_ms: dict[str, float] = field(default_factory=dict)
    load_generator_ms: float = 0.0

    @property
    def per_second(self) -> float:
        return len(self.finished) / self.seconds if self.seconds else 0.0

    def cpu(self) -> Cpu:
        runs = max(len(self.finished), 1)
        per_run = {name: ms / runs for name, ms in self.cpu_ms.items()}
        return Cpu(per_run, self.load_generator_ms / runs)

    def add(self, finished: list[str], seconds: float, window: CpuWindow) -> None:
        self.finished += finished
        self.seconds += seconds
        for name, ms in window.milliseconds().items():
            self.cpu_ms[name] = self.cpu_ms.get(name, 0.0) + ms
        self.load_generator_ms += window.own_milliseconds()


# Asks for a workflow the API accepted but the outbox had not started yet (each costs the
# Temporal server a request, counted in its CPU; printed so that it can be told apart).
MISSING = {"asked": 0}
# The API starts a delivery's workflow after its answer, in batches, and under a burst the
# starts trail the answers by seconds: ask again after a delay that doubles up to a cap,
# so that waiting costs a few requests per run, not one every fraction of a second.
MISSING_RETRY_SECONDS = 0.1
MISSING_RETRY_CAP_SECONDS = 1.0


async def wait_for_result(client: Client, workflow: str) -> None:
    """Until the workflow has returned (raises if it failed). A run the API accepted may
    reach Temporal only a moment later (through the outbox), so a missing workflow is asked
    for again."""
    delay = MISSING_RETRY_SECONDS
    while True:
        try:
            await client.get_workflow_handle(workflow).result()
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            MISSING["asked"] += 1
            await asyncio.sleep(delay)
            delay = min(delay * 2, MISSING_RETRY_CAP_SECONDS)
        else:
            return


async def run_batch(
    client: Client, start: Start, count: int, seconds: float
) -> tuple[list[str], float]:
    """Start ``count`` runs, at most ``CONCURRENT_STARTS`` at a time, and wait for their
    workflows; (the workflow ids of those that returned in time, seconds taken)."""
    finished: list[str] = []
    starting = asyncio.Semaphore(CONCURRENT_STARTS)

    async def one(n: int) -> None:
        async with starting:
            workflow = await start(n)
        await wait_for_result(client, workflow)
        finished.append(workflow)

    started = time.perf_counter()
    tasks = [asyncio.create_task(one(n)) for n in range(count)]
    done, pending = await asyncio.wait(tasks, timeout=seconds)
    elapsed = time.perf_counter() - started
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for task in done:
        task.result()
    return finished, elapsed


async def measure_batch(client: Client, system: System, count: int, seconds: float) -> None:
    with CpuWindow(system.roots) as window:
        finished, elapsed = await run_batch(client, system.start, count, seconds)
    system.add(finished, elapsed, window)


async def alternate(
    client: Client, systems: tuple[System, System], runs: int, rounds: int, seconds: float
) -> None:
    """Both warm up, then measure in rounds, each system's turn first in every other round
    (b c, c b, …), so that a change in the machine's load falls on both alike."""
    for system in systems:
        await run_batch(client, system.start, WARMUP_WORKFLOWS, seconds)
    per_round, budget = max(runs // rounds, 1), seconds / rounds
    for round_number in range(rounds):
        order = systems if round_number % 2 == 0 else systems[::-1]
        for system in order:
            await measure_batch(client, system, per_round, budget)


@dataclass(frozen=True)
class History:
    """Per run, averaged over a sample of the measured runs' histories."""

    events: float
    activities: float
    local_activities: float
    kinds: Counter[str]  # the first sampled run's events by type


def _kind(event_type: EventType.ValueType) -> str:
    name = EventType.Name(event_type).removeprefix("EVENT_TYPE_")
    return "".join(part.capitalize() for part in name.split("_"))


async def history_of(client: Client, workflows: list[str]) -> History:
    sample = workflows[:HISTORY_SAMPLE]
    events = activities = markers = 0
    kinds: Counter[str] = Counter()
    for index, workflow in enumerate(sample):
        history = await client.get_workflow_handle(workflow).fetch_history()
        for event in history.events:
            events += 1
            if index == 0:
                kinds[_kind(event.event_type)] += 1
            if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                activities += 1
            elif (
                event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
                and event.marker_recorded_event_attributes.marker_name == LOCAL_ACTIVITY_MARKER
            ):
                markers += 1
    runs = max(len(sample), 1)
    return History(events / runs, activities / runs, markers / runs, kinds)


@dataclass(frozen=True)
class Webhook:
    firm_id: uuid.UUID
    path: str
    secret: str


async def create_automation(urls: Urls, base_url: str, encryption_key: str) -> Webhook:
    """A firm whose allow-list holds 127.0.0.1, its published, active automation and the
    automation's signed inbound webhook, through the real services."""
    engine = create_async_engine(urls.app, poolclass=NullPool)
    try:
        maker = async_sessionmaker(engine, expire_on_commit=False)
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
        principal = Principal(
            firm_id=firm_id, user_id=owner_id, role=Role.owner, credential="session"
        )
        async with tenant_session(firm_id, maker) as session:
            await set_http_allowlist(
                session, principal, allowlist=HttpAllowlist(entries=["127.0.0.1"])
            )
            automation = await automations.create_automation(
                session,
                principal,
                fields=AutomationFields(name="Three calls"),
                draft=definition(base_url),
            )
            await automations.publish(session, principal, automation.id)
            await automations.set_status(session, principal, automation.id, AutomationStatus.active)
            issued = await inbound_webhooks.issue_inbound_webhook(
                session, principal, Cipher([encryption_key]), automation.id, signing=True
            )
    finally:
        await engine.dispose()
    if issued.signing_secret is None:
        raise RuntimeError("the inbound webhook was issued without a signing secret")
    return Webhook(firm_id, f"/v1/inbound-webhooks/{issued.token}", issued.signing_secret)


async def succeeded_rows(urls: Urls, firm_id: uuid.UUID, run_ids: list[uuid.UUID]) -> int:
    engine = create_async_engine(urls.app, poolclass=NullPool)
    try:
        maker = async_sessionmaker(engine)
        async with tenant_session(firm_id, maker) as session:
            count = await session.scalar(
                select(func.count())
                .select_from(AutomationRun)
                .where(AutomationRun.id.in_(run_ids), AutomationRun.status == RunStatus.succeeded)
            )
    finally:
        await engine.dispose()
    return int(count or 0)


def api_server(env: dict[str, str]) -> AbstractAsyncContextManager[str]:
    return uvicorn_api("api.app:create_app", env)


def handwritten_system(client: Client, base_url: str, worker: Child) -> System:
    """(b): the hand-written workflow, started as a plain Temporal user starts one."""

    async def start(n: int) -> str:
        handle = await client.start_workflow(
            HandwrittenThreeCalls.run,
            CallsInput(base_url=base_url, n=n),
            id=f"handwritten-{uuid.uuid4()}",
            task_queue=HANDWRITTEN_QUEUE,
        )
        return handle.id

    return System("(b) hand-written", start, {"worker": worker.process.pid})


def automation_system(
    http: httpx.AsyncClient, webhook: Webhook, worker: Child, api_pid: int
) -> tuple[System, dict[str, uuid.UUID]]:
    """(c): the automation, started by a signed delivery to its webhook; also the run id
    behind each workflow id, filled in as runs start."""
    run_ids: dict[str, uuid.UUID] = {}

    async def start(n: int) -> str:
        body = json.dumps({"n": n}).encode()
        message, timestamp = f"msg_{uuid.uuid4().hex}", int(time.time())
        headers = {
            "content-type": "application/json",
            "webhook-id": message,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": inbound_webhooks.sign(webhook.secret, message, timestamp, body),
        }
        try:
            response = await http.post(webhook.path, content=body, headers=headers)
        except httpx.TransportError:
            # A keep-alive connection the server closed as it was reused. Senders resend
            # with the same webhook-id, which answers with the same run.
            response = await http.post(webhook.path, content=body, headers=headers)
        if response.status_code != 202:
            raise RuntimeError(f"webhook answered {response.status_code}: {response.text}")
        run_id = uuid.UUID(response.json()["run_id"])
        run_ids[workflow_id(run_id)] = run_id
        return workflow_id(run_id)

    roots = {"worker": worker.process.pid, "API": api_pid}
    return System("(c) automation", start, roots), run_ids


@dataclass(frozen=True)
class Measured:
    system: System
    history: History
    rows: int  # rows the runs left in Postgres, as each measurement checks them


# Report ---------------------------------------------------------------------------------

COMPONENTS = ("worker", "Temporal", "API", "Postgres")


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def print_report(
    runs: int, rounds: int, seconds: float, ceiling: float | None, results: list[Measured]
) -> None:
    per_round = max(runs // rounds, 1)
    print(
        f"  (b) and (c): {per_round * rounds} runs each, in {rounds} alternating rounds of"
        f" {per_round} (each round capped at {seconds / rounds:.0f} s), after"
        f" {WARMUP_WORKFLOWS} to warm up"
    )
    if ceiling is None:
        print(f"  (a) raw SDK, 3 trivial activities: did not finish {runs} in {seconds:.0f} s")
    else:
        print(f"  (a) raw SDK, 3 trivial activities: {ceiling:6.1f} workflows/s")
    handwritten, automation = results
    what = {
        handwritten.system.label: f"3 local-activity GETs + 1 row; {handwritten.rows} rows",
        automation.system.label: (
            f"webhook, {HTTP_STEPS} http_request + {CONTROL_STEPS} control steps;"
            f" {automation.rows} rows succeeded"
        ),
    }
    for measured in results:
        system = measured.system
        print(
            f"  {system.label:<20}{system.per_second:6.1f} runs/s ({len(system.finished)} in"
            f" {system.seconds:.1f} s; {what[system.label]})"
        )
    b, c = handwritten.system.per_second, automation.system.per_second
    if b > 0:
        print(f"  ratio (c)/(b) automation/hand-written: {c / b:.2f} (goal >= {GOAL_RATIO})")
    if ceiling is not None:
        print(f"  ratio (c)/(a) automation/raw SDK: {c / ceiling:.2f}")
    print(
        f"  {'CPU ms per run':<20}"
        + "".join(f"{name:>10}" for name in COMPONENTS)
        + f"{'total':>10}   load generator (not counted)"
    )
    for measured in results:
        cpu = measured.system.cpu()
        cells = "".join(
            f"{cpu.per_run[name]:10.1f}" if name in cpu.per_run else f"{'-':>10}"
            for name in COMPONENTS
        )
        print(f"  {measured.system.label:<20}{cells}{cpu.total:10.1f}   {cpu.load_generator:.1f}")
    print(f"  (goal: total <= {GOAL_CPU_MS} ms per run for (c))")
    print(f"  {'history per run':<20}   events  activities  local activities")
    for measured in results:
        h = measured.history
        print(
            f"  {measured.system.label:<20}{h.events:9.1f}{h.activities:12.1f}"
            f"{h.local_activities:18.1f}"
        )
    print(f"  (goal: <= {GOAL_EVENTS} history events per run for (c))")
    for measured in results:
        kinds = ", ".join(f"{kind} {count}" for kind, count in measured.history.kinds.items())
        print(f"  {measured.system.label.split()[0]} one run's history: {kinds}")


async def measure_both(
    client: Client,
    urls: Urls,
    address: str,
    base_url: str,
    shared: Mapping[str, int],
    runs: int,
    rounds: int,
    seconds: float,
) -> list[Measured]:
    """(b) and (c), with both workers and the API running throughout (an idle worker
    costs its own process only, and polls Temporal a little)."""
    encryption_key = Fernet.generate_key().decode()
    webhook = await create_automation(urls, base_url, encryption_key)
    # The worker registers them too, but the API may start a run before it has.
    await ensure_search_attributes(client)
    env = product_env(urls, address, encryption_key)
    handwritten_argv = [
        sys.executable,
        str(BENCH_DIR / "handwritten_worker.py"),
        address,
        HANDWRITTEN_QUEUE,
        urls.app,
    ]
    async with (
        child_process(
            "hand-written worker", "handwritten-worker.log", handwritten_argv, os.environ
        ) as handwritten_worker,
        child_process(
            "worker", "worker.log", [sys.executable, "-m", "launcher", "worker"], env
        ) as worker,
        api_server(env) as api_base,
        http_client(api_base) as http,
    ):
        api_pid = child_with("uvicorn", str(httpx.URL(api_base).port))
        handwritten = handwritten_system(client, base_url, handwritten_worker)
        automation, run_ids = automation_system(http, webhook, worker, api_pid)
        for system in (handwritten, automation):
            system.roots.update(shared)
        await alternate(client, (handwritten, automation), runs, rounds, seconds)
    rows = await asyncio.to_thread(count_handwritten_rows, urls.owner, handwritten.finished)
    succeeded = await succeeded_rows(
        urls, webhook.firm_id, [run_ids[w] for w in automation.finished]
    )
    return [
        Measured(handwritten, await history_of(client, handwritten.finished), rows),
        Measured(automation, await history_of(client, automation.finished), succeeded),
    ]


async def run(runs: int, rounds: int, seconds: float) -> None:
    print(
        "automation throughput: Temporal dev server (SQLite WAL), loopback only;"
        f" load average {load_average()}; the workers' logs in {DATA.relative_to(ROOT)}",
        flush=True,
    )
    urls = await asyncio.to_thread(prepare_database)
    try:
        with tempfile.TemporaryDirectory(prefix="firmflow-bench-temporal-") as directory:
            async with (
                http_server() as base_url,
                temporal_dev_server(Path(directory)) as address,
            ):
                ceiling = await bounded(lambda: measure_ceiling(address, runs), seconds)
                shared = {
                    "Temporal": child_with("start-dev", address.rsplit(":", 1)[1]),
                    "Postgres": postmaster_pid(),
                }
                client = await Client.connect(address)
                results = await measure_both(
                    client, urls, address, base_url, shared, runs, rounds, seconds
                )
    finally:
        await asyncio.to_thread(stop_embedded_postgres, PGDATA)
    print_report(runs, rounds, seconds, ceiling, results)
    print(
        f"  (c) workflows asked for before the outbox had started them: {MISSING['asked']}"
        f" (each one request to Temporal, in its CPU)",
        flush=True,
    )
    print(f"  load average at the end: {load_average()}", flush=True)


async def bounded(measure: Callable[[], Awaitable[float]], seconds: float) -> float | None:
    try:
        async with asyncio.timeout(seconds):
            return await measure()
    except TimeoutError:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=120.0)
    args = parser.parse_args()
    asyncio.run(run(args.runs, max(args.rounds, 1), args.seconds))
    sys.stdout.flush()
    # The SDK's native threads can crash interpreter teardown (temporalio/sdk-python#300);
    # the figures are printed, so leave without it rather than fail `make bench`.
    os._exit(0)


if __name__ == "__main__":
    main()
