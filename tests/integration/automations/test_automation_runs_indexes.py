"""The run list and a run's steps have an index behind them: with 100k runs, 100k step rows
and fresh statistics, EXPLAIN of the statements the service builds shows no sequential
scan (the method of test_automations_indexes.py, for the run tables)."""

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
from models import RunStatus
from services.automations.runs import RunFilters, runs_query, steps_query
from tests.fixtures import db as fixtures
from tests.plans import app_plans, assert_no_sequential_scan, insert_firm, populated_session

ROWS = 100_000
AUTOMATIONS = 100
FIRM = uuid.UUID("00000000-0000-4000-8000-000000000021")
AUTOMATION = uuid.UUID("00000000-0000-4000-8000-000000000023")
RUN = uuid.UUID("00000000-0000-4000-8000-000000000025")
PRINCIPAL = Principal(firm_id=FIRM, user_id=None, role=Role.owner, credential="api_token")


@pytest.fixture
async def session(test_database: fixtures.TestDatabase) -> AsyncIterator[AsyncSession]:
    async with populated_session(test_database, populate) as session:
        yield session


async def populate(conn: AsyncConnection) -> None:
    await insert_firm(conn, FIRM, "Run index test")
    await conn.execute(
        text(
            "INSERT INTO automations (id, firm_id, name, status, latest_version)"
            " SELECT CASE WHEN i = 1 THEN CAST(:automation AS uuid) ELSE gen_random_uuid() END,"
            " :firm, 'Automation ' || i, 'active', 1"
            " FROM generate_series(1, :n) AS i"
        ),
        {"firm": FIRM, "automation": AUTOMATION, "n": AUTOMATIONS},
    )
    # Runs spread over the automations and the statuses, one a minute back in time.
    await conn.execute(
        text(
            "INSERT INTO automation_runs (id, firm_id, automation_id, version, status, trigger,"
            " trigger_payload, started_at, created_at, updated_at)"
            " SELECT CASE WHEN i = 1 THEN CAST(:run AS uuid) ELSE gen_random_uuid() END,"
            " :firm, a.ids[1 + i % :automations], 1,"
            " (ARRAY['running', 'succeeded', 'failed', 'canceled'])[1 + i % 4]"
            "::automation_run_status,"
            " 'manual', '{}', now() - i * interval '1 minute', now() - i * interval '1 minute',"
            " now() - i * interval '1 minute'"
            " FROM generate_series(1, :n) AS i,"
            " (SELECT array_agg(id ORDER BY id) AS ids FROM automations WHERE firm_id = :firm)"
            " AS a"
        ),
        {"firm": FIRM, "run": RUN, "automations": AUTOMATIONS, "n": ROWS},
    )
    # Ten steps under each of the 10,000 newest runs.
    await conn.execute(
        text(
            "INSERT INTO automation_run_steps (id, firm_id, run_id, step_id, step_type, visit,"
            " position, status, attempt, started_at, finished_at)"
            " SELECT gen_random_uuid(), :firm, r.id, 's' || s, 'set', 1, s, 'succeeded', 1,"
            " r.started_at + s * interval '1 second', r.started_at + s * interval '1 second'"
            " FROM (SELECT id, started_at FROM automation_runs WHERE firm_id = :firm"
            " ORDER BY created_at DESC"
            " LIMIT 10000) r, generate_series(1, 10) AS s"
        ),
        {"firm": FIRM},
    )
    for table in ("automations", "automation_runs", "automation_run_steps"):
        await conn.execute(text(f"ANALYZE {table}"))


NOW = datetime.now(UTC)
FIRST = PageParams()
LATER = PageParams(cursor=Cursor(NOW - timedelta(days=10), uuid.uuid4()))
WEEK = {"started_after": NOW - timedelta(days=14), "started_before": NOW - timedelta(days=7)}


def runs(page: PageParams, **filters: Any) -> Select[Any]:
    return runs_query(PRINCIPAL, RunFilters(**filters), page)


CASES: dict[str, Select[Any]] = {
    "runs": runs(FIRST),
    "runs, later page": runs(LATER),
    "runs of an automation": runs(FIRST, automation_id=AUTOMATION),
    "runs of an automation, later page": runs(LATER, automation_id=AUTOMATION),
    "runs by status": runs(FIRST, status=RunStatus.failed),
    "runs by status, later page": runs(LATER, status=RunStatus.running),
    "runs of an automation by status": runs(
        FIRST, automation_id=AUTOMATION, status=RunStatus.failed
    ),
    "runs in a time range": runs(FIRST, **WEEK),
    "runs by status in a time range": runs(FIRST, status=RunStatus.canceled, **WEEK),
    "runs of an automation since a time": runs(
        LATER, automation_id=AUTOMATION, started_after=NOW - timedelta(days=30)
    ),
    "steps of a run": steps_query(PRINCIPAL, RUN),
}


async def test_run_lists_use_indexes(session: AsyncSession) -> None:
    assert_no_sequential_scan(await app_plans(session, FIRM, CASES))
