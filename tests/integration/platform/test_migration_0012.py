"""Migration 0012 fixes the stored balance of invoices voided before it: a void invoice
owes nothing. Other invoices keep theirs, and a downgrade gives the old balances back."""

import uuid
from collections.abc import Iterator

import psycopg
import pytest

from core import embedded, migrate


@pytest.fixture
def database(pg_server: embedded.EmbeddedPostgres) -> Iterator[str]:
    name = f"firmflow_m0012_{uuid.uuid4().hex[:8]}"
    embedded.ensure_database(pg_server.superuser_dsn(), name)
    yield name
    embedded.drop_database(pg_server.superuser_dsn(), name)


def _insert_invoice(
    conn: psycopg.Connection, firm: uuid.UUID, client: uuid.UUID, status: str
) -> uuid.UUID:
    invoice = uuid.uuid4()
    conn.execute(
        "INSERT INTO invoices (id, firm_id, client_id, kind, number, status, in_collections,"
        " currency, discount_value, subtotal, discount_total, tax_total, tax_exclusive_total,"
        " late_fee, total, amount_paid, amount_credited, balance, tax_breakdown,"
        " dunning_paused, created_at, updated_at)"
        " VALUES (%s, %s, %s, 'invoice', %s, %s, false, 'EUR', 0, 5000, 0, 0, 0, 0, 5000,"
        " 0, 0, 5000, '[]', false, now(), now())",
        (invoice, firm, client, f"INV-{invoice.hex[:8]}", status),
    )
    return invoice


def _balances(dsn: str) -> dict[str, int]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT status, balance FROM invoices").fetchall()
    return {status: balance for status, balance in rows}


def test_void_invoices_owe_nothing_after_the_upgrade(
    pg_server: embedded.EmbeddedPostgres, database: str
) -> None:
    owner_url = pg_server.url(embedded.OWNER_ROLE, database)
    dsn = pg_server.url(embedded.OWNER_ROLE, database, driver="postgresql")
    migrate.upgrade(owner_url, "0011")
    firm, client = uuid.uuid4(), uuid.uuid4()
    with psycopg.connect(dsn) as conn:
        conn.execute(
            "INSERT INTO firms (id, name, slug, time_zone, default_currency, created_at,"
            " updated_at) VALUES (%s, 'Old Firm', %s, 'UTC', 'EUR', now(), now())",
            (firm, f"old-{firm.hex[:8]}"),
        )
        conn.execute(
            "INSERT INTO clients (id, firm_id, kind, name, status, tags, custom_fields,"
            " created_at, updated_at) VALUES (%s, %s, 'organization', 'Old Client', 'active',"
            " '{}', '{}', now(), now())",
            (client, firm),
        )
        for status in ("void", "open", "uncollectible"):
            _insert_invoice(conn, firm, client, status)

    migrate.upgrade(owner_url, "0012")
    assert _balances(dsn) == {"void": 0, "open": 5000, "uncollectible": 5000}

    migrate.downgrade(owner_url, "0011")
    assert _balances(dsn) == {"void": 5000, "open": 5000, "uncollectible": 5000}
