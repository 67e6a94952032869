"""Migrations go up to head and back down to base on an empty database, and up again."""

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine

import models
from core import embedded, migrate


@pytest.fixture
def empty_database(pg_server: embedded.EmbeddedPostgres) -> Iterator[str]:
    name = f"firmflow_migrations_{uuid.uuid4().hex[:8]}"
    embedded.ensure_database(pg_server.superuser_dsn(), name)
    yield name
    embedded.drop_database(pg_server.superuser_dsn(), name)


def _tables(dsn: str) -> set[str]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
    return {r[0] for r in rows}


def _policies(dsn: str) -> set[str]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT tablename FROM pg_policies").fetchall()
    return {r[0] for r in rows}


def test_upgrade_downgrade_upgrade(
    pg_server: embedded.EmbeddedPostgres, empty_database: str
) -> None:
    owner_url = pg_server.url(embedded.OWNER_ROLE, empty_database)
    dsn = pg_server.url(embedded.OWNER_ROLE, empty_database, driver="postgresql")

    migrate.upgrade(owner_url)
    tables = _tables(dsn)
    assert {"firms", "users", "clients", "outbox", "audit_events"} <= tables
    # Every table but Alembic's own bookkeeping is protected by a policy.
    assert _policies(dsn) == tables - {"alembic_version"}

    migrate.downgrade(owner_url)
    assert _tables(dsn) == {"alembic_version"}
    with psycopg.connect(dsn) as conn:
        enums = conn.execute("SELECT typname FROM pg_type WHERE typtype = 'e'").fetchall()
    assert enums == []

    migrate.upgrade(owner_url)
    assert _tables(dsn) == tables


def test_every_tenant_table_forces_row_level_security(
    pg_server: embedded.EmbeddedPostgres, empty_database: str
) -> None:
    owner_url = pg_server.url(embedded.OWNER_ROLE, empty_database)
    dsn = pg_server.url(embedded.OWNER_ROLE, empty_database, driver="postgresql")
    migrate.upgrade(owner_url)
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname <> 'alembic_version'"
        ).fetchall()
        firm_id_tables = {
            r[0]
            for r in conn.execute(
                "SELECT c.table_name FROM information_schema.columns c "
                "JOIN information_schema.tables t USING (table_schema, table_name) "
                "WHERE c.table_schema = 'public' AND c.column_name = 'firm_id' "
                "AND t.table_type = 'BASE TABLE'"
            ).fetchall()
        }
        firm_policies = {
            r[0]: r[1] for r in conn.execute("SELECT tablename, qual FROM pg_policies").fetchall()
        }
    assert rows, "no tables were created"
    # Every table, tenant or not, has row-level security forced: a table the app role must
    # not read at all (cross-firm bookkeeping) carries a policy that shows it nothing.
    assert all(enabled and forced for _, enabled, forced in rows), rows
    # Every table with a firm_id, plus firms itself, is scoped to the firm in app.firm_id.
    for table in firm_id_tables | {"firms"}:
        assert "current_setting('app.firm_id'" in firm_policies[table], table


def test_models_and_migrations_agree(
    pg_server: embedded.EmbeddedPostgres, empty_database: str
) -> None:
    owner_url = pg_server.url(embedded.OWNER_ROLE, empty_database)
    migrate.upgrade(owner_url)
    engine = create_engine(owner_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), models.Base.metadata)
    finally:
        engine.dispose()
    assert diff == [], "a model changed without a migration: " + repr(diff)
