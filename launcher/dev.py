"""``make dev``: the whole platform on one machine, supervised until Ctrl-C."""

import asyncio
import contextlib
import fcntl
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx

from core.config import Settings
from launcher.demo import demo_instructions, seed_demo_firm
from launcher.postgres import (
    Database,
    run_migrations,
    start_embedded_postgres,
    stop_embedded_postgres,
    wait_for_postgres,
)
from launcher.processes import (
    Child,
    Deadline,
    LaunchError,
    Stopped,
    next_probe,
    require_free_port,
    say,
    spawn,
)
from launcher.settings import LaunchSettings
from launcher.temporal import temporal_dev_server_argv, wait_for_temporal

READY_BANNER = "Press Ctrl-C to stop."


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
        # Links in emails and the origin the CSRF check expects follow the chosen port, and
        # a browser on plain-HTTP loopback keeps the session cookie only without Secure.
        api = f"http://{local_host(self.launch.api_host)}:{self.launch.api_port}"
        env.setdefault("FIRMFLOW_PUBLIC_URL", api)
        if env["FIRMFLOW_PUBLIC_URL"].startswith("http://"):
            env.setdefault("FIRMFLOW_COOKIE_SECURE", "false")
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
        module = [sys.executable, "-m", "launcher"]
        self.children.append(await spawn("worker", [*module, "worker"], env))
        say("Starting the API…")
        self.children.append(await spawn("API", [*module, "api"], env))
        api = f"http://{local_host(launch.api_host)}:{launch.api_port}"
        await self._wait_for_api(f"{api}/ready")
        # Seeded only now, right before printing: a password is never created unseen.
        demo = await seed_demo_firm(database.runtime_url, self.settings)

        say("")
        say("firmflow is running:")
        say(f"  Web app      {api}/")
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
                await next_probe(self.deadline, f"The API ({url})", self.children, self.stop)

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
