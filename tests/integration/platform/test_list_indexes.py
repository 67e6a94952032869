"""Every list query has an index behind it: with 100k clients (plus contacts and audit
events) and fresh statistics, EXPLAIN of the statements the services build, run the way
the services run them, shows no sequential scan.

ANALYZE needs the tables' owner and the data must be visible to it, so this test has its
own connection, as the superuser, inside a transaction rolled back at the end: it fills
and analyzes the tables, then drops to the application role (row-level security applies
again) before each EXPLAIN.
"""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from core.pagination import Cursor, PageParams
from core.principal import Principal
from core.roles import Role
from models import ClientStatus, TaskStatus
from services.audit import AuditFilters, events_query
from services.clients import ClientFilters, clients_query
from services.contacts import contacts_query
from services.tasks import TaskFilters, tasks_query
from tests.fixtures import db as fixtures
from tests.plans import app_plans, assert_no_sequential_scan, insert_firm, populated_session

CLIENTS = 100_000
FIRM = uuid.UUID("00000000-0000-4000-8000-000000000001")
USER = uuid.UUID("00000000-0000-4000-8000-000000000002")
CLIENT = uuid.UUID("00000000-0000-4000-8000-000000000003")
PRINCIPAL = Principal(firm_id=FIRM, user_id=USER, role=Role.owner, credential="api_token")


@pytest.fixture
async def session(test_database: fixtures.TestDatabase) -> AsyncIterator[AsyncSession]:
    async with populated_session(test_database, populate) as session:
        yield session


async def populate(conn: AsyncConnection) -> None:
    await insert_firm(conn, FIRM, "Index test")
    await conn.execute(
        text(
            "INSERT INTO clients (id, firm_id, kind, name, email, status, tags, custom_fields,"
            " external_ref, archived_at, created_at, updated_at)"
            " SELECT CASE WHEN i = 1 THEN CAST(:client AS uuid) ELSE gen_random_uuid() END,"
            " :firm, 'organization', 'Client ' || i, 'client' || i || '@example.com',"
            " (ARRAY['prospect', 'active', 'inactive'])[1 + i % 3]::client_status,"
            " ARRAY['group-' || (i % 200)], '{}', 'ref-' || i,"
            " CASE WHEN i % 50 = 0 THEN now() END,"
            " now() - i * interval '1 minute', now() - i * interval '1 minute'"
            " FROM generate_series(1, :n) AS i"
        ),
        {"firm": FIRM, "client": CLIENT, "n": CLIENTS},
    )
    await conn.execute(
        text(
            "INSERT INTO contacts (id, firm_id, client_id, name, is_primary, created_at,"
            " updated_at)"
            " SELECT gen_random_uuid(), :firm, c.id, 'Contact ' || g, g = 1, c.created_at,"
            " c.created_at"
            " FROM (SELECT id, created_at FROM clients ORDER BY created_at DESC LIMIT 10000) c,"
            " generate_series(1, 2) AS g"
        ),
        {"firm": FIRM},
    )
    await conn.execute(
        text(
            "INSERT INTO audit_events (id, firm_id, actor_type, actor_id, action, record_type,"
            " record_id, summary, created_at)"
            " SELECT gen_random_uuid(), :firm, 'user',"
            " CASE WHEN i % 10 = 0 THEN CAST(:user AS uuid) ELSE gen_random_uuid() END,"
            " 'client.created', 'client', c.id, '{}', c.created_at"
            " FROM (SELECT id, created_at, row_number() OVER () AS i FROM clients) c"
        ),
        {"firm": FIRM, "user": USER},
    )
    await conn.execute(
        text(
            "INSERT INTO users (id, firm_id, email, name, role, is_active)"
            " VALUES (:user, :firm, 'assignee@example.com', 'Assignee', 'staff', true)"
        ),
        {"firm": FIRM, "user": USER},
    )
    await conn.execute(
        text(
            "INSERT INTO tasks (id, firm_id, title, status, due_date, assignee_id, client_id,"
            " completed_at, created_at, updated_at)"
            " SELECT gen_random_uuid(), :firm, 'Task ' || i,"
            " CASE WHEN i % 4 = 0 THEN 'done' ELSE 'open' END,"
            " current_date + (i % 400 - 200),"
            " CASE WHEN i % 10 = 0 THEN CAST(:user AS uuid) END,"
            " CASE WHEN i % 1000 = 1 THEN CAST(:client AS uuid) END,"
            " CASE WHEN i % 4 = 0 THEN now() END,"
            " now() - i * interval '1 minute', now() - i * interval '1 minute'"
            " FROM generate_series(1, :n) AS i"
        ),
        {"firm": FIRM, "user": USER, "client": CLIENT, "n": CLIENTS},
    )
    for table in ("clients", "contacts", "audit_events", "tasks"):
        await conn.execute(text(f"ANALYZE {table}"))


FIRST = PageParams()
LATER = PageParams(cursor=Cursor(datetime.now(UTC) - timedelta(days=10), uuid.uuid4()))
RLS = ClientFilters()


def client_case(filters: ClientFilters, page: PageParams = FIRST) -> tuple[ClientFilters, Any]:
    return filters, clients_query(PRINCIPAL, filters, page)


CASES: dict[str, tuple[ClientFilters, Select[Any]]] = {
    "clients": client_case(ClientFilters()),
    "clients, later page": client_case(ClientFilters(), LATER),
    "clients, archived": client_case(ClientFilters(archived=True)),
    "clients by status": client_case(ClientFilters(status=ClientStatus.inactive)),
    "clients by tag": client_case(ClientFilters(tags=("group-7",))),
    "clients by two tags": client_case(ClientFilters(tags=("group-7", "group-8"))),
    "clients by search": client_case(ClientFilters(search="client 4242")),
    "clients by search, no match": client_case(ClientFilters(search="zebra")),
    "clients by search and status": client_case(
        ClientFilters(search="client 42", status=ClientStatus.active), LATER
    ),
    "contacts": (RLS, contacts_query(PRINCIPAL, CLIENT, FIRST)),
    "contacts, later page": (RLS, contacts_query(PRINCIPAL, CLIENT, LATER)),
    "audit events": (RLS, events_query(PRINCIPAL, AuditFilters(), FIRST)),
    "audit events, later page": (RLS, events_query(PRINCIPAL, AuditFilters(), LATER)),
    "audit events by record": (
        RLS,
        events_query(PRINCIPAL, AuditFilters(record_type="client", record_id=CLIENT), FIRST),
    ),
    "audit events by actor": (RLS, events_query(PRINCIPAL, AuditFilters(actor_id=USER), FIRST)),
    "audit events by action": (
        RLS,
        events_query(PRINCIPAL, AuditFilters(action="client.updated"), FIRST),
    ),
    "audit events by time": (
        RLS,
        events_query(
            PRINCIPAL,
            AuditFilters(since=datetime.now(UTC) - timedelta(days=3), until=datetime.now(UTC)),
            FIRST,
        ),
    ),
    "tasks": (RLS, tasks_query(PRINCIPAL, TaskFilters(), FIRST)),
    "tasks, later page": (RLS, tasks_query(PRINCIPAL, TaskFilters(), LATER)),
    "tasks by status": (RLS, tasks_query(PRINCIPAL, TaskFilters(status=TaskStatus.done), FIRST)),
    "tasks by assignee": (RLS, tasks_query(PRINCIPAL, TaskFilters(assignee_id=USER), FIRST)),
    "tasks unassigned": (RLS, tasks_query(PRINCIPAL, TaskFilters(unassigned=True), FIRST)),
    "tasks by client": (RLS, tasks_query(PRINCIPAL, TaskFilters(client_id=CLIENT), FIRST)),
    "tasks by due dates": (
        RLS,
        tasks_query(
            PRINCIPAL,
            TaskFilters(due_after=date.today(), due_before=date.today() + timedelta(days=7)),
            FIRST,
        ),
    ),
    "tasks overdue": (
        RLS,
        tasks_query(PRINCIPAL, TaskFilters(overdue=True, today=date.today()), FIRST),
    ),
}


async def test_list_queries_use_indexes(session: AsyncSession) -> None:
    plans = await app_plans(session, FIRM, {name: stmt for name, (_, stmt) in CASES.items()})
    assert_no_sequential_scan(plans)
    # A rare term can only be found fast through the trigram index. For a term many rows
    # share, walking the newest-first index until the page fills is as good a plan, and
    # which one wins depends on ANALYZE's random sample: only "no sequential scan" holds.
    assert "ix_clients_search" in plans["clients by search, no match"], plans[
        "clients by search, no match"
    ]
