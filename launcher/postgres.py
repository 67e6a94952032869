"""Postgres for the launcher: the embedded server, waiting for a database to answer, and the
migrations under an advisory lock."""

import asyncio
import signal
from dataclasses import dataclass
from pathlib import Path

from launcher.processes import Deadline, LaunchError, next_probe

# Any number will do, as long as every migrating process uses the same one.
MIGRATION_LOCK_KEY = 0x6669726D666C6F77


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
            await next_probe(deadline, "Postgres", [], stop)
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
