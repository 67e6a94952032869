"""The receivables reports and the payment list have an index behind them: with 100k
invoices of one firm (most of them paid, as in a firm with years of history), a payment for
each paid one and fresh statistics, EXPLAIN of the statements the services build shows no
sequential scan of invoices or payments (the method of test_automation_runs_indexes.py).

The aging joins the firm's clients (a hash join may read them all), which is not checked."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from core.pagination import Cursor, PageParams
from core.principal import Principal
from core.roles import Role
from services.billing.payments import PaymentFilters, payments_query
from services.billing.reports import (
    AgingCursor,
    aging_query,
    aging_totals_query,
    revenue_invoices_query,
    revenue_payments_query,
)
from tests.fixtures import db as fixtures
from tests.plans import app_plans, insert_firm, populated_session

INVOICES = 100_000
CLIENTS = 2_000
FIRM = uuid.UUID("00000000-0000-4000-8000-000000000041")
PRINCIPAL = Principal(firm_id=FIRM, user_id=None, role=Role.owner, credential="api_token")
AS_OF = date(2026, 6, 30)


@pytest.fixture
async def session(test_database: fixtures.TestDatabase) -> AsyncIterator[AsyncSession]:
    async with populated_session(test_database, populate) as session:
        yield session


async def populate(conn: AsyncConnection) -> None:
    await insert_firm(conn, FIRM, "Report index test")
    await conn.execute(
        text(
            "INSERT INTO clients (id, firm_id, kind, name, status, tags, custom_fields)"
            " SELECT gen_random_uuid(), :firm, 'organization', 'Client ' || i, 'active',"
            " ARRAY[]::text[], '{}'"
            " FROM generate_series(1, :n) AS i"
        ),
        {"firm": FIRM, "n": CLIENTS},
    )
    # Ten years of invoices, one issued every hour or so: 85% paid, 8% open, 4% partly
    # paid, 2% void, 1% draft.
    await conn.execute(
        text(
            "INSERT INTO invoices (id, firm_id, client_id, kind, number, status,"
            " in_collections, currency, issue_date, due_date, discount_value, subtotal,"
            " discount_total, tax_total, tax_exclusive_total, late_fee, total, amount_paid,"
            " amount_credited, balance, tax_breakdown, dunning_paused)"
            " SELECT gen_random_uuid(), :firm, c.ids[1 + i % :clients], 'invoice',"
            " CASE WHEN s.status = 'draft' THEN NULL ELSE 'INV-' || i END, s.status, false,"
            " CASE WHEN i % 10 = 0 THEN 'EUR' ELSE 'USD' END,"
            " CASE WHEN s.status = 'draft' THEN NULL"
            " ELSE DATE '2026-06-30' - (i * 3650 / :n) END,"
            " DATE '2026-06-30' - (i * 3650 / :n) + 30,"
            " 0, 10000, 0, 0, 0, 0, 10000, s.paid, 0,"
            " CASE WHEN s.status = 'void' THEN 0 ELSE 10000 - s.paid END, '[]', false"
            " FROM generate_series(1, :n) AS i,"
            " LATERAL (SELECT CASE"
            "   WHEN i % 100 < 85 THEN 'paid' WHEN i % 100 < 93 THEN 'open'"
            "   WHEN i % 100 < 97 THEN 'partially_paid' WHEN i % 100 < 99 THEN 'void'"
            "   ELSE 'draft' END AS status) AS st,"
            " LATERAL (SELECT st.status,"
            "   CASE st.status WHEN 'paid' THEN 10000 WHEN 'partially_paid' THEN 4000"
            "   ELSE 0 END AS paid) AS s,"
            " (SELECT array_agg(id ORDER BY id) AS ids FROM clients WHERE firm_id = :firm) AS c"
        ),
        {"firm": FIRM, "clients": CLIENTS, "n": INVOICES},
    )
    # A payment for each paid or partly paid invoice, received ten days after its issue.
    await conn.execute(
        text(
            "INSERT INTO payments (id, firm_id, client_id, invoice_id, kind, amount, currency,"
            " applied_amount, credited_amount, method, received_on, created_at, updated_at)"
            " SELECT gen_random_uuid(), firm_id, client_id, id, 'payment', amount_paid,"
            " currency, amount_paid, 0, 'bank_transfer', issue_date + 10,"
            " issue_date + interval '10 days', issue_date + interval '10 days'"
            " FROM invoices WHERE firm_id = :firm AND amount_paid > 0"
        ),
        {"firm": FIRM},
    )
    for table in ("clients", "invoices", "payments"):
        await conn.execute(text(f"ANALYZE {table}"))


LATER = AgingCursor(client_name="Client 500", client_id=uuid.UUID(int=0), currency="USD")

FIRST = PageParams()
BEFORE = PageParams(cursor=Cursor(datetime(2020, 1, 1, tzinfo=UTC), uuid.UUID(int=0)))
CLIENT = uuid.UUID(int=1)
INVOICE = uuid.UUID(int=2)


def payments(page: PageParams, **filters: Any) -> Select[Any]:
    return payments_query(PRINCIPAL, PaymentFilters(**filters), page)


CASES: dict[str, Select[Any]] = {
    "payments": payments(FIRST),
    "payments, later page": payments(BEFORE),
    "payments of a client": payments(FIRST, client_id=CLIENT),
    "payments of a client, later page": payments(BEFORE, client_id=CLIENT),
    "payments of an invoice": payments(FIRST, invoice_id=INVOICE),
    "aging, first page": aging_query(PRINCIPAL, AS_OF, limit=50, cursor=None),
    "aging, later page": aging_query(PRINCIPAL, AS_OF, limit=50, cursor=LATER),
    "aging totals": aging_totals_query(PRINCIPAL, AS_OF),
    "revenue, a year": revenue_invoices_query(PRINCIPAL, date(2025, 7, 1), date(2026, 6, 30)),
    "revenue, a quarter": revenue_invoices_query(PRINCIPAL, date(2024, 1, 1), date(2024, 3, 31)),
    "money received, a year": revenue_payments_query(
        PRINCIPAL, date(2025, 7, 1), date(2026, 6, 30)
    ),
}


async def test_report_statements_use_the_invoice_indexes(session: AsyncSession) -> None:
    plans = await app_plans(session, FIRM, CASES)
    sequential = {
        name: plan
        for name, plan in plans.items()
        if "Seq Scan on invoices" in plan or "Seq Scan on payments" in plan
    }
    assert not sequential, "\n\n".join(f"{n}:\n{p}" for n, p in sequential.items())
    assert "ix_invoices_receivable" in plans["aging totals"]
    assert "ix_invoices_firm_id_issue_date" in plans["revenue, a year"]
    assert "ix_payments_firm_id_client_id_created_at_id" in plans["payments of a client"]
    assert "ix_payments_firm_id_received_on" in plans["money received, a year"]
