"""firmflow beside n8n on the same work: a webhook, then 3 HTTP GETs to a loopback server.

    python bench/peer_n8n.py [--repeats 2] [--seconds 15] [--concurrency 1 10 50] [--quick]

Both systems run as their users run them. firmflow: the whole platform as ``make dev`` runs it
(``python -m launcher dev``: embedded Postgres, the Temporal dev server, the worker, the API)
on a fresh data directory and free ports; a firm signed up, its allow-list entry for
127.0.0.1, the automation of bench/n8n/automation.json imported, published, activated and
given a signed inbound webhook URL, all through the public API. n8n: the npm package
installed by ``make bench-n8n-install`` into .data/n8n, SQLite and default execution saving
in a fresh user folder, bench/n8n/workflow.json imported with ``n8n import:workflow`` and
published with ``n8n publish:workflow``, then ``n8n start``.

A stub HTTP server in its own process (this file with ``--stub``) records when each GET
arrives. Closed-loop load: ``c`` senders each POST to the webhook, wait for the stub to see
that run's third GET, and send again. For each repeat, concurrency and system (the order
alternates) the system being measured runs alone: the other one's processes are paused
(SIGSTOP) until its turn. Each phase warms up (at least 2 s and as many runs as senders),
is measured for ``--seconds``, and drains. Prints runs/s, the POST → third GET latency
(p50/p95/p99), where the time went, CPU milliseconds per run of each process (from /proc:
utime+stime, with reaped children, so Postgres' backends count), and firmflow/n8n ratios
beside the goals. Without n8n installed it says how to install it and exits 0.
"""

import argparse
import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from launched_platform import running_platform, stop_process_group, unused_port

ROOT = Path(__file__).resolve().parent.parent
PEER_FILES = Path(__file__).resolve().parent / "n8n"
DATA_DIR = ROOT / ".data" / "bench-peer"
DEFAULT_N8N_DIR = ROOT / ".data" / "n8n"
N8N_WORKFLOW_ID = "FirmflowPeer0001"
N8N_WEBHOOK_PATH = "firmflow-peer-bench"
STUB_PLACEHOLDER = "__STUB_URL__"
GETS = 3
# The goals of issue 15, printed beside the ratios.
THROUGHPUT_GOAL = 0.75
THROUGHPUT_GOAL_CONCURRENCY = (10, 50)
P50_GOAL = 2.0
P50_GOAL_CONCURRENCY = 1
STARTUP_SECONDS = 240.0
# A run whose third GET has not arrived by then counts as lost; its sender goes on.
RUN_TIMEOUT = 60.0
WARMUP_MIN_SECONDS = 2.0
WARMUP_MAX_SECONDS = 60.0
# Before the first phase of each system (connection pools, imports, V8's JIT): an unmeasured
# phase of this many senders, 5 s after its own warm-up.
FIRST_WARMUP_SENDERS = 20
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# The stub: one process of its own, so serving the GETs shares no interpreter with the load.


def run_stub(port: int) -> None:
    """Answer every GET with a small JSON body; for ``/r/<id>/<n>`` print ``<id> <n> <time>``
    (CLOCK_MONOTONIC, which every process on the machine shares) to stdout."""
    import uvicorn

    body = b'{"ok": true}'
    out = sys.stdout

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        arrived = time.monotonic()
        parts = scope["path"].split("/")
        if len(parts) == 4 and parts[1] == "r":
            out.write(f"{parts[2]} {parts[3]} {arrived:.6f}\n")
            out.flush()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        http="httptools",
    )


class Arrivals:
    """The stub's record, read as it comes: each run's GET arrival times."""

    def __init__(self) -> None:
        self._times: dict[str, list[float | None]] = {}
        self._done: dict[str, asyncio.Future[list[float]]] = {}

    def expect(self, run_id: str) -> "asyncio.Future[list[float]]":
        future: asyncio.Future[list[float]] = asyncio.get_running_loop().create_future()
        self._times[run_id] = [None] * GETS
        self._done[run_id] = future
        return future

    def forget(self, run_id: str) -> None:
        self._times.pop(run_id, None)
        self._done.pop(run_id, None)

    def record(self, line: str) -> None:
        run_id, step, arrived = line.split()
        times = self._times.get(run_id)
        index = int(step) - 1
        # A retried step's second GET does not move the first arrival.
        if times is None or times[index] is not None:
            return
        times[index] = float(arrived)
        if all(t is not None for t in times):
            self._times.pop(run_id)
            future = self._done.pop(run_id)
            if not future.done():
                future.set_result([t for t in times if t is not None])


@contextlib.asynccontextmanager
async def running_stub() -> AsyncIterator[tuple[str, Arrivals]]:
    port = unused_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--stub",
        str(port),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    arrivals = Arrivals()

    async def read() -> None:
        assert process.stdout is not None
        async for line in process.stdout:
            arrivals.record(line.decode())

    reader = asyncio.create_task(read())
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as http:
            deadline = time.monotonic() + 30
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(f"{url}/ready")).status_code == 200:
                        break
                if time.monotonic() > deadline or process.returncode is not None:
                    raise RuntimeError("the stub server did not start")
                await asyncio.sleep(0.1)
        yield url, arrivals
    finally:
        reader.cancel()
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()


# Processes: CPU time and pausing.


@dataclass(frozen=True)
class Proc:
    parent: int
    ticks: int  # utime + stime + cutime + cstime: its own CPU and its reaped children's


def process_table() -> dict[int, Proc]:
    table: dict[int, Proc] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: split after the last ")".
        fields = stat[stat.rindex(")") + 2 :].split()
        ticks = sum(int(value) for value in fields[11:15])
        table[int(entry.name)] = Proc(parent=int(fields[1]), ticks=ticks)
    return table


def group_of(pid: int, table: dict[int, Proc], roots: dict[int, str]) -> str | None:
    """The group of the nearest ancestor (or self) that is a root."""
    seen = 0
    while pid in table and seen < 64:
        if pid in roots:
            return roots[pid]
        pid = table[pid].parent
        seen += 1
    return None


def cpu_seconds(roots: dict[int, str]) -> dict[str, float]:
    """CPU seconds of each group (root process and its descendants). A child that exits is
    reaped into its parent's cutime/cstime, so summing the live processes keeps it."""
    table = process_table()
    totals = dict.fromkeys(roots.values(), 0.0)
    for pid, proc in table.items():
        name = group_of(pid, table, roots)
        if name is not None:
            totals[name] += proc.ticks / CLOCK_TICKS
    return totals


def members(roots: dict[int, str]) -> list[int]:
    table = process_table()
    return [pid for pid in table if group_of(pid, table, roots) is not None]


def signal_all(pids: list[int], sig: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


# The two systems.


@dataclass
class System:
    name: str
    webhook_url: str
    # Process group name by root pid, for CPU time and pausing.
    roots: dict[int, str]
    signing_secret: str | None = None
    paused: list[int] = field(default_factory=list)

    def pause(self) -> None:
        self.paused = members(self.roots)
        signal_all(self.paused, signal.SIGSTOP)

    def resume(self) -> None:
        signal_all(self.paused, signal.SIGCONT)
        self.paused = []

    def request(self, run_id: str) -> tuple[bytes, dict[str, str]]:
        body = json.dumps({"id": run_id}).encode()
        headers = {"content-type": "application/json"}
        if self.signing_secret is not None:
            # Standard Webhooks, as a sender signs (docs/automations.md, sign.py).
            key = base64.b64decode(self.signing_secret.removeprefix("whsec_"))
            webhook_id, timestamp = f"msg_{run_id}", str(int(time.time()))
            mac = hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256)
            headers["webhook-id"] = webhook_id
            headers["webhook-timestamp"] = timestamp
            headers["webhook-signature"] = "v1," + base64.b64encode(mac.digest()).decode()
        return body, headers


def peer_file(name: str, stub_url: str) -> str:
    return (PEER_FILES / name).read_text().replace(STUB_PLACEHOLDER, stub_url)


@contextlib.contextmanager
def running_firmflow(data_dir: Path) -> Iterator[tuple[str, "subprocess.Popen[str]"]]:
    """``python -m launcher dev`` on a fresh data directory; yields the API's URL and the
    launcher."""
    with running_platform(data_dir, startup_seconds=STARTUP_SECONDS) as running:
        yield running


def firmflow_roots(launcher_pid: int, data_dir: Path) -> dict[int, str]:
    """The launcher's children by what they run, and the embedded Postgres' postmaster."""
    roots = {launcher_pid: "launcher"}
    for pid, proc in process_table().items():
        if proc.parent != launcher_pid:
            continue
        with contextlib.suppress(OSError):
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            # ``launcher worker`` replaces itself with ``python worker.py``.
            if b"worker" in argv or any(arg.endswith(b"/worker.py") for arg in argv):
                roots[pid] = "worker"
            elif b"api" in argv:
                roots[pid] = "API"
            elif any(b"temporal" in arg for arg in argv):
                roots[pid] = "Temporal"
    postmaster = int((data_dir / "postgres" / "postmaster.pid").read_text().split()[0])
    roots[postmaster] = "Postgres"
    return roots


@dataclass(frozen=True)
class FirmflowSetup:
    api: str
    token: str
    automation_id: str
    hook: str
    signing_secret: str


def set_up_firmflow(api: str, stub_url: str) -> FirmflowSetup:
    """A firm, its allow-list entry, the automation (imported, published, activated) and a
    signed inbound webhook, through the public API."""
    slug = f"peer-{secrets.token_hex(4)}"
    with httpx.Client(base_url=api, timeout=60) as http:
        signed_up = http.post(
            "/v1/signup",
            json={
                "email": f"owner@{slug}.example.com",
                "password": secrets.token_urlsafe(18),
                "firm_name": "Peer Bench Firm",
                "firm_slug": slug,
                "name": "Bench Owner",
            },
        )
        signed_up.raise_for_status()
        token = str(signed_up.json()["token"])
        http.headers["authorization"] = f"Bearer {token}"
        http.cookies.clear()  # a bearer token alone: no CSRF checks apply
        http.patch("/v1/firm/http-allowlist", json={"entries": ["127.0.0.1"]}).raise_for_status()
        imported = http.post(
            "/v1/automations/import",
            params={"publish": "true"},
            content=peer_file("automation.json", stub_url),
            headers={"content-type": "application/json"},
        )
        imported.raise_for_status()
        automation_id = str(imported.json()["automation"]["id"])
        http.post(f"/v1/automations/{automation_id}/activate").raise_for_status()
        issued = http.post(
            f"/v1/automations/{automation_id}/inbound-webhook", json={"signing": True}
        )
        issued.raise_for_status()
        return FirmflowSetup(
            api, token, automation_id, issued.json()["url"], issued.json()["signing_secret"]
        )


def firmflow_runs(setup: FirmflowSetup) -> dict[str, int]:
    """The automation's runs by status, from the runs API (at most 100 pages)."""
    counts: dict[str, int] = {}
    params = {"automation_id": setup.automation_id, "limit": "100"}
    headers = {"authorization": f"Bearer {setup.token}"}
    with httpx.Client(base_url=setup.api, headers=headers, timeout=60) as http:
        for _ in range(100):
            page = http.get("/v1/automation-runs", params=params)
            page.raise_for_status()
            for run in page.json()["items"]:
                counts[run["status"]] = counts.get(run["status"], 0) + 1
            cursor = page.json()["next_cursor"]
            if cursor is None:
                break
            params["cursor"] = cursor
    return counts


def n8n_executions(user_folder: Path) -> dict[str, int]:
    """The executions n8n saved, by status (read once n8n has stopped)."""
    database = sqlite3.connect(user_folder / ".n8n" / "database.sqlite")
    try:
        rows = database.execute("SELECT status, count(*) FROM execution_entity GROUP BY status")
        return {str(status): int(count) for status, count in rows}
    finally:
        database.close()


def n8n_env(user_folder: Path, port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        N8N_USER_FOLDER=str(user_folder),
        N8N_PORT=str(port),
        N8N_LISTEN_ADDRESS="127.0.0.1",
        N8N_HOST="127.0.0.1",
        N8N_LOG_LEVEL="warn",
        # Nothing but loopback is reachable here: no telemetry, update or template calls.
        N8N_DIAGNOSTICS_ENABLED="false",
        N8N_VERSION_NOTIFICATIONS_ENABLED="false",
        N8N_TEMPLATES_ENABLED="false",
        N8N_PERSONALIZATION_ENABLED="false",
        N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS="false",
        EXTERNAL_FRONTEND_HOOKS_URLS="",
        N8N_DIAGNOSTICS_CONFIG_FRONTEND="",
        N8N_DIAGNOSTICS_CONFIG_BACKEND="",
    )
    return env


def n8n_command(n8n: Path, env: dict[str, str], *args: str) -> None:
    ran = subprocess.run(
        [str(n8n), *args],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=STARTUP_SECONDS,
        check=False,
    )
    if ran.returncode != 0:
        raise RuntimeError(f"n8n {' '.join(args)} failed:\n{ran.stdout}\n{ran.stderr}")


@contextlib.contextmanager
def running_n8n(n8n: Path, data_dir: Path, stub_url: str) -> Iterator[tuple[str, int]]:
    """The workflow imported and published in a fresh user folder (SQLite, default execution
    saving), then ``n8n start``; yields the webhook URL and n8n's pid."""
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    port = unused_port()
    env = n8n_env(data_dir, port)
    workflow = data_dir / "workflow.json"
    workflow.write_text(peer_file("workflow.json", stub_url))
    n8n_command(n8n, env, "import:workflow", f"--input={workflow}")
    n8n_command(n8n, env, "publish:workflow", f"--id={N8N_WORKFLOW_ID}")
    log = (data_dir / "n8n.log").open("w")
    started = subprocess.Popen(
        [str(n8n), "start"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    hook = f"http://127.0.0.1:{port}/webhook/{N8N_WEBHOOK_PATH}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        # Ready once the published workflow's webhook answers, a few seconds after n8n's
        # own readiness: this probe's run is not counted (the stub ignores unknown ids).
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.post(hook, json={"id": "probe"}, timeout=2).status_code == 200:
                    break
            if started.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"n8n did not start; see {data_dir / 'n8n.log'}")
            time.sleep(0.2)
        yield hook, started.pid
    finally:
        stop_process_group(started, 30)
        log.close()


# The load.


@dataclass
class Run:
    sent: float
    gets: list[float]

    @property
    def latency(self) -> float:
        return self.gets[-1] - self.sent


@dataclass
class Phase:
    system: str
    concurrency: int
    runs: list[Run] = field(default_factory=list)
    seconds: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    errors: int = 0
    lost: int = 0


async def drive(
    system: System,
    arrivals: Arrivals,
    http: httpx.AsyncClient,
    concurrency: int,
    seconds: float,
    tag: str,
) -> Phase:
    """``concurrency`` closed-loop senders; warm up, measure ``seconds``, then drain. Only
    runs whose third GET arrived inside the measured window count."""
    phase = Phase(system.name, concurrency)
    finished: list[Run] = []
    issuing = True
    counter = 0
    # Warm once as many runs as senders have finished: every sender has gone round once.
    warmed = asyncio.Event()

    async def sender() -> None:
        nonlocal counter
        while issuing:
            counter += 1
            run_id = f"{tag}-{counter}"
            done = arrivals.expect(run_id)
            body, headers = system.request(run_id)
            sent = time.monotonic()
            try:
                answer = await http.post(system.webhook_url, content=body, headers=headers)
                accepted = answer.status_code in (200, 202)
            except httpx.HTTPError:
                accepted = False
            if not accepted:
                arrivals.forget(run_id)
                phase.errors += 1
                await asyncio.sleep(0.5)
                continue
            try:
                gets = await asyncio.wait_for(done, RUN_TIMEOUT)
            except TimeoutError:
                arrivals.forget(run_id)
                phase.lost += 1
                continue
            finished.append(Run(sent, gets))
            if len(finished) >= concurrency:
                warmed.set()

    senders = [asyncio.create_task(sender()) for _ in range(concurrency)]
    await asyncio.sleep(WARMUP_MIN_SECONDS)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(warmed.wait(), WARMUP_MAX_SECONDS - WARMUP_MIN_SECONDS)
    start, cpu_before = time.monotonic(), cpu_seconds(system.roots)
    await asyncio.sleep(seconds)
    end, cpu_after = time.monotonic(), cpu_seconds(system.roots)
    issuing = False
    await asyncio.wait(senders, timeout=RUN_TIMEOUT + 10)
    for task in senders:
        task.cancel()
    phase.seconds = end - start
    phase.runs = [run for run in finished if start <= run.gets[-1] < end]
    phase.cpu = {name: cpu_after[name] - cpu_before[name] for name in cpu_after}
    return phase


# The report.


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"


@dataclass
class Summary:
    rate: float
    p50: float
    p95: float
    p99: float
    first_get: float
    first_to_third: float
    cpu_ms: dict[str, float]
    runs: int
    rates: list[float]
    errors: int
    lost: int


def summarise(phases: list[Phase]) -> Summary:
    runs = [run for phase in phases for run in phase.runs]
    latencies = [run.latency for run in runs]
    seconds = sum(phase.seconds for phase in phases)
    cpu: dict[str, float] = {}
    for phase in phases:
        for name, spent in phase.cpu.items():
            cpu[name] = cpu.get(name, 0.0) + spent
    count = max(1, len(runs))
    return Summary(
        rate=len(runs) / seconds if seconds else 0.0,
        p50=percentile(latencies, 0.5),
        p95=percentile(latencies, 0.95),
        p99=percentile(latencies, 0.99),
        first_get=percentile([run.gets[0] - run.sent for run in runs], 0.5),
        first_to_third=percentile([run.gets[-1] - run.gets[0] for run in runs], 0.5),
        cpu_ms={name: spent * 1000 / count for name, spent in cpu.items()},
        runs=len(runs),
        rates=[len(phase.runs) / phase.seconds for phase in phases if phase.seconds],
        errors=sum(phase.errors for phase in phases),
        lost=sum(phase.lost for phase in phases),
    )


def report(
    results: dict[tuple[str, int], list[Phase]], concurrencies: list[int], names: list[str]
) -> None:
    print()
    print("POST to the webhook -> third GET at the stub; closed loop, each system alone")
    for concurrency in concurrencies:
        summaries = {name: summarise(results[(name, concurrency)]) for name in names}
        print(f"\nconcurrency {concurrency}")
        for name, s in summaries.items():
            rates = ", ".join(f"{rate:.1f}" for rate in s.rates)
            print(
                f"  {name:<9} {s.rate:6.1f} runs/s  [{rates}]  p50 {ms(s.p50):>8}"
                f"  p95 {ms(s.p95):>8}  p99 {ms(s.p99):>8}  ({s.runs} runs"
                f"{f', {s.errors} refused' if s.errors else ''}"
                f"{f', {s.lost} lost' if s.lost else ''})"
            )
            print(
                f"  {'':<9} medians: POST -> 1st GET {ms(s.first_get)},"
                f" 1st -> 3rd GET {ms(s.first_to_third)}"
            )
            cpu = "  ".join(f"{part} {spent:.0f}" for part, spent in s.cpu_ms.items())
            print(f"  {'':<9} CPU ms per run: {sum(s.cpu_ms.values()):.0f} = {cpu}")
        ours, theirs = summaries["firmflow"], summaries["n8n"]
        rate_ratio = ours.rate / theirs.rate if theirs.rate else float("nan")
        p50_ratio = ours.p50 / theirs.p50 if theirs.p50 else float("nan")
        print(f"  firmflow/n8n: throughput {rate_ratio:.2f}", end="")
        if concurrency in THROUGHPUT_GOAL_CONCURRENCY:
            print(f" (goal >= {THROUGHPUT_GOAL})", end="")
        print(f", p50 {p50_ratio:.2f}", end="")
        if concurrency == P50_GOAL_CONCURRENCY:
            print(f" (goal <= {P50_GOAL})", end="")
        cpu_ratio = sum(ours.cpu_ms.values()) / max(1e-9, sum(theirs.cpu_ms.values()))
        print(f", CPU per run {cpu_ratio:.2f}")
    sys.stdout.flush()


async def measure(args: argparse.Namespace, n8n: Path) -> None:
    began = time.monotonic()
    async with running_stub() as (stub_url, arrivals):
        with running_firmflow(DATA_DIR / "firmflow") as (api, launcher):
            setup = set_up_firmflow(api, stub_url)
            firmflow = System(
                "firmflow",
                setup.hook,
                firmflow_roots(launcher.pid, DATA_DIR / "firmflow"),
                signing_secret=setup.signing_secret,
            )
            print(
                f"firmflow ready at {api} after {time.monotonic() - began:.0f} s:"
                f" processes {sorted(set(firmflow.roots.values()))}",
                flush=True,
            )
            # Paused while n8n's commands and startup run; always resumed, or it could not
            # stop (and its Postgres, in a session of its own, would be left stopped).
            firmflow.pause()
            try:
                with running_n8n(n8n, DATA_DIR / "n8n", stub_url) as (n8n_hook, n8n_pid):
                    peer = System("n8n", n8n_hook, {n8n_pid: "n8n"})
                    print(
                        f"n8n ready at {n8n_hook} after {time.monotonic() - began:.0f} s",
                        flush=True,
                    )
                    try:
                        await compare(args, arrivals, firmflow, peer)
                    finally:
                        peer.resume()
            finally:
                firmflow.resume()
            ours = firmflow_runs(setup)
        theirs = n8n_executions(DATA_DIR / "n8n")
    print(f"\nruns recorded, warm-ups included: firmflow {ours}; n8n executions saved {theirs}")
    print(f"whole benchmark: {time.monotonic() - began:.0f} s", flush=True)


async def compare(
    args: argparse.Namespace, arrivals: Arrivals, firmflow: System, peer: System
) -> None:
    systems = [firmflow, peer]
    results: dict[tuple[str, int], list[Phase]] = {
        (s.name, c): [] for s in systems for c in args.concurrency
    }
    limits = httpx.Limits(max_connections=max(args.concurrency) + 10)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:

        async def alone(system: System) -> None:
            for other in systems:
                if other is not system:
                    other.pause()
            system.resume()

        for system in systems:
            await alone(system)
            await drive(system, arrivals, http, FIRST_WARMUP_SENDERS, 5.0, f"{system.name}-first")
            print(f"{system.name} warmed up", flush=True)
        for repeat in range(args.repeats):
            for index, concurrency in enumerate(args.concurrency):
                order = systems if (repeat + index) % 2 == 0 else systems[::-1]
                for system in order:
                    await alone(system)
                    tag = f"{system.name}-{repeat}-{concurrency}"
                    phase = await drive(system, arrivals, http, concurrency, args.seconds, tag)
                    results[(system.name, concurrency)].append(phase)
                    print(
                        f"  repeat {repeat + 1}/{args.repeats} c={concurrency:<3}"
                        f" {system.name:<9} {len(phase.runs) / phase.seconds:6.1f} runs/s",
                        flush=True,
                    )
    report(results, args.concurrency, [s.name for s in systems])


def install_hint(n8n_dir: Path) -> str:
    return (
        f"n8n is not installed in {n8n_dir}. `make bench-n8n-install` installs it into"
        f" {DEFAULT_N8N_DIR.relative_to(ROOT)} (npm, 2.3 GB, 5 to 12 minutes;"
        " bench/n8n/package.json pins n8n 2.8, which runs on Node 20 to 24);"
        " --n8n-dir points at another install."
    )


def node_major() -> int | None:
    try:
        version = subprocess.run(
            ["node", "--version"], capture_output=True, text=True, check=True, timeout=30
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return int(version.strip().lstrip("v").split(".")[0])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=15.0, help="measured per phase")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--quick", action="store_true", help="one repeat of 5 s phases")
    parser.add_argument("--n8n-dir", type=Path, default=DEFAULT_N8N_DIR)
    parser.add_argument("--stub", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stub is not None:
        run_stub(args.stub)
        return 0
    if args.quick:
        args.repeats, args.seconds = 1, 5.0
    n8n = args.n8n_dir / "node_modules" / ".bin" / "n8n"
    if not n8n.exists():
        print(f"peer_n8n: skipped. {install_hint(args.n8n_dir)}")
        return 0
    major = node_major()
    if major is None or not 20 <= major <= 24:
        print(f"peer_n8n: skipped. n8n 2.8 needs Node 20 to 24; `node --version` gave {major}.")
        return 0
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(
        f"firmflow vs n8n: webhook -> 3 GETs; {args.repeats} repeat(s),"
        f" {args.seconds:.0f} s per phase, concurrency {args.concurrency};"
        f" load average {load} on {os.cpu_count()} cores",
        flush=True,
    )
    asyncio.run(measure(args, n8n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
