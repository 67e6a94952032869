"""The envelope list and the trail have an index behind each filter: with 50,000 envelopes
of one firm (six statuses, one in a hundred for one client) and 100,000 trail events, and
fresh statistics, EXPLAIN of the statements services.esignature.envelopes builds, run as
the application runs them (row-level security on), shows no sequential scan (the method of
platform/test_list_indexes.py)."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from core.pagination import Cursor, PageParams
from core.principal import Principal
from core.roles import Role
from models import EnvelopeStatus
from services.esignature.envelopes import EnvelopeFilters, envelopes_query, events_query
from tests.fixtures import db as fixtures
from tests.plans import app_plans, assert_no_sequential_scan, insert_firm, populated_session

ENVELOPES = 50_000
FIRM = uuid.UUID("00000000-0000-4000-8000-000000000171")
USER = uuid.UUID("00000000-0000-4000-8000-000000000172")
CLIENT = uuid.UUID("00000000-0000-4000-8000-000000000173")
ENVELOPE = uuid.UUID("00000000-0000-4000-8000-000000000174")
PRINCIPAL = Principal(firm_id=FIRM, user_id=USER, role=Role.staff, credential="api_token")


@pytest.fixture
async def session(test_database: fixtures.TestDatabase) -> AsyncIterator[AsyncSession]:
    async with populated_session(test_database, populate) as session:
        yield session


async def populate(conn: AsyncConnection) -> None:
    await insert_firm(conn, FIRM, "Envelope list")
    params = {"firm": FIRM, "client": CLIENT, "envelope": ENVELOPE, "n": ENVELOPES}
    statements = [
        "INSERT INTO clients (id, firm_id, kind, name, status, tags, custom_fields)"
        " VALUES (:client, :firm, 'organization', 'Client', 'active', '{}', '{}')",
        "INSERT INTO envelopes (id, firm_id, title, status, provider, client_id, created_at,"
        " updated_at, voided_at)"
        " SELECT CASE WHEN i = 1 THEN CAST(:envelope AS uuid) ELSE md5('e' || i)::uuid END,"
        " :firm, 'Envelope ' || i,"
        " (ARRAY['draft', 'sent', 'completed', 'declined', 'expired', 'voided'])[1 + i % 6],"
        " 'builtin',"
        " CASE WHEN i % 100 = 0 THEN CAST(:client AS uuid) END,"
        " now() - i * interval '1 minute', now() - i * interval '1 minute',"
        # The voided ones (i % 6 = 5) have their time.
        " CASE WHEN i % 6 = 5 THEN now() END"
        " FROM generate_series(1, :n) AS i",
        # Two events per envelope, and a long trail on one of them.
        "INSERT INTO envelope_events (id, firm_id, envelope_id, kind, occurred_at, source)"
        " SELECT gen_random_uuid(), :firm, id, 'created', created_at, 'staff' FROM envelopes"
        " UNION ALL SELECT gen_random_uuid(), :firm, id, 'sent', created_at, 'staff'"
        " FROM envelopes",
        "INSERT INTO envelope_events (id, firm_id, envelope_id, kind, occurred_at, source)"
        " SELECT gen_random_uuid(), :firm, :envelope, 'reminded',"
        " now() - i * interval '1 second', 'system' FROM generate_series(1, 500) AS i",
    ]
    for statement in statements:
        await conn.execute(text(statement), params)
    for table in ("envelopes", "envelope_events"):
        await conn.execute(text(f"ANALYZE {table}"))


FIRST = PageParams()
LATER = PageParams(cursor=Cursor(datetime.now(UTC) - timedelta(days=10), uuid.uuid4()))


def case(filters: EnvelopeFilters, page: PageParams = FIRST) -> Select[Any]:
    return envelopes_query(PRINCIPAL, filters, page)


CASES: dict[str, Select[Any]] = {
    "envelopes": case(EnvelopeFilters()),
    "envelopes, later page": case(EnvelopeFilters(), LATER),
    "by status": case(EnvelopeFilters(status=EnvelopeStatus.sent)),
    "by status, later page": case(EnvelopeFilters(status=EnvelopeStatus.voided), LATER),
    "by client": case(EnvelopeFilters(client_id=CLIENT)),
    "by client and status": case(
        EnvelopeFilters(client_id=CLIENT, status=EnvelopeStatus.draft), LATER
    ),
    "the trail": events_query(PRINCIPAL, ENVELOPE, FIRST),
    "the trail, later page": events_query(
        PRINCIPAL, ENVELOPE, PageParams(cursor=Cursor(datetime.now(UTC), uuid.uuid4()))
    ),
}


async def test_the_envelope_list_and_trail_use_indexes(session: AsyncSession) -> None:
    plans = await app_plans(session, FIRM, CASES)
    assert_no_sequential_scan(plans)
    assert "ix_envelopes_firm_id_status_created_at_id" in plans["by status"], plans["by status"]
    assert "ix_envelopes_firm_id_client_id_created_at_id" in plans["by client"], plans["by client"]
    trail = plans["the trail"]
    assert "ix_envelope_events_firm_id_envelope_id_occurred_at_id" in trail, trail
