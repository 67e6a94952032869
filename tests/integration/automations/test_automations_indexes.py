"""The automation lists have an index behind them: with 100k automations and 100k versions
and fresh statistics, EXPLAIN of the statements the services build shows no sequential
scan (the same method as test_list_indexes.py, for the automation tables)."""

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
from models import AutomationStatus
from services.automations.automations import (
    AutomationFilters,
    automations_query,
    versions_query,
)
from tests.fixtures import db as fixtures
from tests.plans import app_plans, assert_no_sequential_scan, insert_firm, populated_session

ROWS = 100_000
FIRM = uuid.UUID("00000000-0000-4000-8000-000000000011")
AUTOMATION = uuid.UUID("00000000-0000-4000-8000-000000000013")
PRINCIPAL = Principal(firm_id=FIRM, user_id=None, role=Role.owner, credential="api_token")


@pytest.fixture
async def session(test_database: fixtures.TestDatabase) -> AsyncIterator[AsyncSession]:
    async with populated_session(test_database, populate) as session:
        yield session


async def populate(conn: AsyncConnection) -> None:
    await insert_firm(conn, FIRM, "Automation index test")
    await conn.execute(
        text(
            "INSERT INTO automations (id, firm_id, name, status, latest_version, created_at,"
            " updated_at)"
            " SELECT CASE WHEN i = 1 THEN CAST(:automation AS uuid) ELSE gen_random_uuid() END,"
            " :firm, 'Automation ' || i,"
            " (ARRAY['draft', 'active', 'paused', 'archived'])[1 + i % 4]::automation_status,"
            " 100, now() - i * interval '1 minute', now() - i * interval '1 minute'"
            " FROM generate_series(1, :n) AS i"
        ),
        {"firm": FIRM, "automation": AUTOMATION, "n": ROWS},
    )
    # 100 versions under each of the 1,000 newest automations.
    await conn.execute(
        text(
            "INSERT INTO automation_versions (id, firm_id, automation_id, version, definition,"
            " created_at)"
            " SELECT gen_random_uuid(), :firm, a.id, v, '{}',"
            " a.created_at + v * interval '1 second'"
            " FROM (SELECT id, created_at FROM automations WHERE firm_id = :firm"
            " ORDER BY created_at DESC LIMIT 1000) a,"
            " generate_series(1, 100) AS v"
        ),
        {"firm": FIRM},
    )
    for table in ("automations", "automation_versions"):
        await conn.execute(text(f"ANALYZE {table}"))


FIRST = PageParams()
LATER = PageParams(cursor=Cursor(datetime.now(UTC) - timedelta(days=10), uuid.uuid4()))

CASES: dict[str, Select[Any]] = {
    "automations": automations_query(PRINCIPAL, AutomationFilters(), FIRST),
    "automations, later page": automations_query(PRINCIPAL, AutomationFilters(), LATER),
    "automations by status": automations_query(
        PRINCIPAL, AutomationFilters(status=AutomationStatus.paused), FIRST
    ),
    "automations by status, later page": automations_query(
        PRINCIPAL, AutomationFilters(status=AutomationStatus.active), LATER
    ),
    "versions": versions_query(PRINCIPAL, AUTOMATION, FIRST),
    "versions, later page": versions_query(PRINCIPAL, AUTOMATION, LATER),
}


async def test_automation_lists_use_indexes(session: AsyncSession) -> None:
    assert_no_sequential_scan(await app_plans(session, FIRM, CASES))
