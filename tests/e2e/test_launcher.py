"""`make dev` end to end: the launcher as a subprocess with its own data directory and free
ports (so it never collides with a `make dev` running on this machine), waited on by reading
its output and probing /ready; Ctrl-C must leave no process behind."""

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from core import embedded
from core.db import APP_ROLE
from launcher.demo import DEMO_EMAIL
from launcher.dev import READY_BANNER
from launcher.temporal import temporal_dev_server, temporal_serving
from tests.launched import ROOT, STARTUP_SECONDS, Watched, unused_port

pytestmark = pytest.mark.e2e

# A line of `temporal workflow show`: event id, time, event type.
HISTORY_EVENT = re.compile(r"^\s*(?P<id>\d+)\s+\S+\s+(?P<type>\w+)\s*$")


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """The launcher's data directory, outside pytest's temporary root: the embedded Postgres
    runs as another user, who must traverse every parent folder, and each pytest process that
    starts (an xdist worker, a second run) resets that root to mode 0700."""
    with tempfile.TemporaryDirectory(prefix="firmflow-e2e-") as path:
        yield Path(path) / "data"


@dataclass
class Ports:
    api: int = field(default_factory=unused_port)
    temporal: int = field(default_factory=unused_port)
    temporal_ui: int = field(default_factory=unused_port)

    def env(self, data_dir: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FIRMFLOW_")}
        env.update(
            FIRMFLOW_DATA_DIR=str(data_dir),
            FIRMFLOW_API_PORT=str(self.api),
            FIRMFLOW_TEMPORAL_PORT=str(self.temporal),
            FIRMFLOW_TEMPORAL_UI_PORT=str(self.temporal_ui),
            PYTHONUNBUFFERED="1",
        )
        return env


def launcher(env: dict[str, str]) -> Watched:
    return Watched([sys.executable, "-m", "launcher", "dev"], env)


def temporal(*args: str) -> list[str]:
    return [str(Path(sys.executable).parent / "temporal"), *args]


def relay_execution(address: str) -> dict[str, Any]:
    """What Temporal knows of the outbox relay, the workflow every worker keeps running."""
    described = subprocess.run(
        temporal("workflow", "describe", "-w", "outbox-relay", "--address", address, "-o", "json"),
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    )
    info: dict[str, Any] = json.loads(described.stdout)["workflowExecutionInfo"]
    return info


@contextlib.contextmanager
def listening_on(port: int) -> Iterator[None]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        yield


def postmaster(data_dir: Path) -> psutil.Process:
    pid = int((data_dir / "postgres" / "postmaster.pid").read_text().split()[0])
    return psutil.Process(pid)


def gone(processes: list[psutil.Process]) -> list[psutil.Process]:
    """Those still alive after a short grace (an exiting process can linger briefly)."""
    _, alive = psutil.wait_procs(processes, timeout=10)
    return [p for p in alive if p.status() != psutil.STATUS_ZOMBIE]


@pytest.fixture
def launchers() -> Iterator[list[Watched]]:
    started: list[Watched] = []
    yield started
    for process in started:
        process.kill()


def stop(running: Watched, data_dir: Path) -> None:
    """Ctrl-C: the launcher exits 0 after stopping, in reverse order, every process."""
    tree = [*running.processes(), postmaster(data_dir)]
    assert len(tree) >= 4, [p.cmdline() for p in tree]  # Temporal, worker, API, Postgres
    running.process.send_signal(signal.SIGINT)
    assert running.wait_for_exit() == 0, running.output
    leftovers = gone(tree)
    assert leftovers == [], [p.cmdline() for p in leftovers]
    order = [line for line in running.lines if line.startswith("Stopping ")]
    assert order == [
        "Stopping API…",
        "Stopping worker…",
        "Stopping Temporal…",
        "Stopping Postgres…",
    ]


def demo_password(output: str) -> str:
    match = re.search(r"^  password  (\S+)$", output, re.MULTILINE)
    assert match is not None, output
    return match.group(1)


def login(api: str, password: str) -> httpx.Response:
    return httpx.post(
        f"{api}/v1/auth/login",
        json={"email": DEMO_EMAIL, "password": password},
        timeout=10,
    )


def test_dev_starts_everything_seeds_once_resumes_and_stops_cleanly(
    data_dir: Path, launchers: list[Watched]
) -> None:
    ports = Ports()
    api = f"http://127.0.0.1:{ports.api}"

    first = launcher(ports.env(data_dir))
    launchers.append(first)
    first.wait_for_line(READY_BANNER)
    assert f"  API          http://127.0.0.1:{ports.api}" in first.lines
    assert f"  API docs     http://127.0.0.1:{ports.api}/docs" in first.lines
    assert f"  Temporal UI  http://127.0.0.1:{ports.temporal_ui}" in first.lines
    assert f"  Metrics      http://127.0.0.1:{ports.api}/metrics" in first.lines
    password = demo_password(first.output)

    ready = httpx.get(f"{api}/ready", timeout=10)
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "checks": {"postgres": "ok", "temporal": "ok"}}
    assert httpx.get(f"{api}/docs", timeout=10).status_code == 200
    assert httpx.get(f"http://127.0.0.1:{ports.temporal_ui}/", timeout=10).status_code == 200
    assert login(api, password).status_code == 200
    assert login(api, password + "x").status_code == 401
    metrics = httpx.get(f"{api}/metrics", timeout=10).text
    assert 'firmflow_http_requests_total{method="POST",route="/v1/auth/login",status="200"}' in (
        metrics
    )
    assert (data_dir / "temporal.db").exists()
    temporal_address = f"127.0.0.1:{ports.temporal}"
    relay = relay_execution(temporal_address)
    assert relay["status"] == "WORKFLOW_EXECUTION_STATUS_RUNNING"

    # A second launcher on the same data directory refuses to start, and touches nothing.
    other = launcher(Ports().env(data_dir))
    launchers.append(other)
    assert other.wait_for_exit() == 1
    assert "Another `make dev` is already running" in other.output

    events_before_restart = int(relay_execution(temporal_address)["historyLength"])
    stop(first, data_dir)

    second = launcher(ports.env(data_dir))
    launchers.append(second)
    second.wait_for_line(READY_BANNER)
    assert "Demo firm created" not in second.output
    assert password not in second.output
    # The data survived the restart, and the workflow in flight carries on where it was.
    assert login(api, password).status_code == 200
    assert relay_execution(temporal_address)["firstRunId"] == relay["firstRunId"]
    history = Watched(
        temporal(
            "workflow", "show", "-w", "outbox-relay", "--follow", "--address", temporal_address
        ),
        dict(os.environ),
    )
    launchers.append(history)
    history.wait_for(
        lambda line: bool(
            (event := HISTORY_EVENT.match(line))
            and int(event["id"]) > events_before_restart
            and event["type"] == "ActivityTaskCompleted"
        ),
        "a relay activity completed after the restart",
        STARTUP_SECONDS,
    )
    history.kill()
    stop(second, data_dir)


def test_dev_refuses_a_taken_port_before_starting_anything(
    data_dir: Path, launchers: list[Watched]
) -> None:
    ports = Ports()
    with listening_on(ports.temporal):
        refused = launcher(ports.env(data_dir))
        launchers.append(refused)
        assert refused.wait_for_exit() == 1
    assert f"Port {ports.temporal} (Temporal gRPC) is already in use" in refused.output
    assert "FIRMFLOW_TEMPORAL_PORT" in refused.output
    assert not (data_dir / "postgres").exists()


async def test_dev_uses_the_postgres_and_temporal_it_is_given(
    tmp_path: Path,
    data_dir: Path,
    launchers: list[Watched],
    pg_server: embedded.EmbeddedPostgres,
) -> None:
    database = f"firmflow_e2e_{uuid.uuid4().hex[:8]}"
    embedded.ensure_database(pg_server.superuser_dsn(), database)
    try:
        async with temporal_dev_server(tmp_path / "temporal") as temporal_address:
            ports = Ports()
            env = ports.env(data_dir) | {
                "FIRMFLOW_DATABASE_URL": pg_server.url(APP_ROLE, database),
                "FIRMFLOW_MIGRATION_DATABASE_URL": pg_server.url(embedded.OWNER_ROLE, database),
                "FIRMFLOW_TEMPORAL_ADDRESS": temporal_address,
            }
            running = launcher(env)
            launchers.append(running)
            running.wait_for_line(READY_BANNER)
            assert "Using Postgres from FIRMFLOW_DATABASE_URL" in running.lines
            assert f"Using Temporal from FIRMFLOW_TEMPORAL_ADDRESS ({temporal_address})" in (
                running.lines
            )
            assert not [line for line in running.lines if line.startswith("Starting Postgres")]
            assert not [line for line in running.lines if "Temporal dev server" in line]
            credentials = {"email": DEMO_EMAIL, "password": demo_password(running.output)}
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ports.api}") as http:
                assert (await http.get("/ready")).status_code == 200
                # Migrated and seeded the database it was given.
                assert (await http.post("/v1/auth/login", json=credentials)).status_code == 200

            children = running.processes()
            assert sorted(" ".join(p.cmdline()[1:]) for p in children) == [
                "-m launcher api",
                str(ROOT / "worker.py"),
            ]
            running.process.send_signal(signal.SIGINT)
            assert running.wait_for_exit() == 0, running.output
            assert gone(children) == []
            order = [line for line in running.lines if line.startswith("Stopping ")]
            assert order == ["Stopping API…", "Stopping worker…"]
            # What it was given, it leaves running.
            assert await temporal_serving(temporal_address)
            assert not (data_dir / "postgres").exists()
    finally:
        embedded.drop_database(pg_server.superuser_dsn(), database)
