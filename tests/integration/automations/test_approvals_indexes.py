"""The approval lists have an index behind them: with 100k approvals, 50k votes and fresh
statistics, EXPLAIN of the statements the service builds shows no sequential scan (the
method of test_automation_runs_indexes.py, for the approval tables)."""

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
from models import ApprovalStatus
from services.approvals import approvals_query
from services.automations.approvals import run_approvals_query
from tests.fixtures import db as fixtures
from tests.plans import app_plans, assert_no_sequential_scan, insert_firm, populated_session

ROWS = 100_000
RUNS = 1000
VOTERS = 10
FIRM = uuid.UUID("00000000-0000-4000-8000-000000000031")
AUTOMATION = uuid.UUID("00000000-0000-4000-8000-000000000033")
RUN = uuid.UUID("00000000-0000-4000-8000-000000000035")
USER = uuid.UUID("00000000-0000-4000-8000-000000000037")
PRINCIPAL = Principal(firm_id=FIRM, user_id=USER, role=Role.staff, credential="api_token")


@pytest.fixture
async def session(test_database: fixtures.TestDatabase) -> AsyncIterator[AsyncSession]:
    async with populated_session(test_database, populate) as session:
        yield session


async def populate(conn: AsyncConnection) -> None:
    await insert_firm(conn, FIRM, "Approval index test")
    await conn.execute(
        text(
            "INSERT INTO automations (id, firm_id, name, status, latest_version)"
            " VALUES (:automation, :firm, 'Approvals', 'active', 1)"
        ),
        {"firm": FIRM, "automation": AUTOMATION},
    )
    await conn.execute(
        text(
            "INSERT INTO automation_runs (id, firm_id, automation_id, version, status, trigger,"
            " trigger_payload, started_at, created_at, updated_at)"
            " SELECT CASE WHEN i = 1 THEN CAST(:run AS uuid) ELSE gen_random_uuid() END,"
            " :firm, :automation, 1, 'running', 'manual', '{}', now(), now(), now()"
            " FROM generate_series(1, :n) AS i"
        ),
        {"firm": FIRM, "automation": AUTOMATION, "run": RUN, "n": RUNS},
    )
    # Approvals spread over the runs and the statuses, one a minute back in time.
    await conn.execute(
        text(
            "INSERT INTO automation_approvals (id, firm_id, run_id, automation_id, step_id,"
            " visit, status, title, message, approver_roles, approver_user_ids, quorum,"
            " allow_initiator, form, created_at, updated_at)"
            " SELECT gen_random_uuid(), :firm, r.ids[1 + i % :runs], :automation, 'ok', i,"
            " (ARRAY['pending', 'approved', 'rejected', 'expired', 'canceled'])[1 + i % 5]"
            "::approval_status,"
            " 'Approval ' || i, '', ARRAY['staff'], ARRAY[]::uuid[], 1, false, '{}',"
            " now() - i * interval '1 minute', now() - i * interval '1 minute'"
            " FROM generate_series(1, :n) AS i,"
            " (SELECT array_agg(id ORDER BY id) AS ids FROM automation_runs"
            " WHERE firm_id = :firm) AS r"
        ),
        {"firm": FIRM, "automation": AUTOMATION, "runs": RUNS, "n": ROWS},
    )
    await conn.execute(
        text(
            "INSERT INTO users (id, firm_id, email, name, role, is_active)"
            " SELECT CASE WHEN i = 1 THEN CAST(:user AS uuid) ELSE gen_random_uuid() END,"
            " :firm, 'approver' || i || '@example.com', 'Approver ' || i, 'staff', true"
            " FROM generate_series(1, :n) AS i"
        ),
        {"firm": FIRM, "user": USER, "n": VOTERS},
    )
    # A vote on every other approval, by the voters in turn.
    await conn.execute(
        text(
            "INSERT INTO automation_approval_votes (id, firm_id, approval_id, user_id, decision)"
            " SELECT gen_random_uuid(), :firm, a.id, u.ids[1 + a.n % :voters], 'approve'"
            " FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM automation_approvals"
            " WHERE firm_id = :firm) AS a,"
            " (SELECT array_agg(id ORDER BY id) AS ids FROM users WHERE firm_id = :firm) AS u"
            " WHERE a.n % 2 = 0"
        ),
        {"firm": FIRM, "voters": VOTERS},
    )
    for table in ("users", "automation_runs", "automation_approvals", "automation_approval_votes"):
        await conn.execute(text(f"ANALYZE {table}"))


NOW = datetime.now(UTC)
FIRST = PageParams()
LATER = PageParams(cursor=Cursor(NOW - timedelta(days=10), uuid.uuid4()))


def approvals(page: PageParams, **filters: Any) -> Select[Any]:
    return approvals_query(PRINCIPAL, mine=filters.pop("mine", False), page=page, **filters)


CASES: dict[str, Select[Any]] = {
    "approvals": approvals(FIRST, status=None),
    "approvals, later page": approvals(LATER, status=None),
    "approvals by status": approvals(FIRST, status=ApprovalStatus.approved),
    "approvals by status, later page": approvals(LATER, status=ApprovalStatus.pending),
    "mine, pending": approvals(FIRST, mine=True, status=ApprovalStatus.pending),
    "mine, pending, later page": approvals(LATER, mine=True, status=ApprovalStatus.pending),
    "mine": approvals(FIRST, mine=True, status=None),
    "approvals of a run": run_approvals_query(PRINCIPAL, RUN),
}


async def test_approval_lists_use_indexes(session: AsyncSession) -> None:
    assert_no_sequential_scan(await app_plans(session, FIRM, CASES))
