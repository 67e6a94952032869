"""Document search has an index behind it: with 100,000 documents of one firm (each with a
current version, some with an older one, some in the bin), 10,000 of another firm and fresh
statistics, EXPLAIN of the statements services.documents.search builds, run as the
application runs them (row-level security on), shows no sequential scan (the method of
platform/test_list_indexes.py)."""

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import Select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from core.principal import Principal
from core.roles import Role
from models import DocumentStatus
from services.documents.search import SearchCursor, SearchFilters, search_query
from tests.fixtures import db as fixtures
from tests.plans import app_plans, assert_no_sequential_scan, insert_firm, populated_session

DOCUMENTS = 100_000
OTHER_DOCUMENTS = 10_000
FIRM = uuid.UUID("00000000-0000-4000-8000-000000000061")
OTHER = uuid.UUID("00000000-0000-4000-8000-000000000062")
USER = uuid.UUID("00000000-0000-4000-8000-000000000063")
CLIENT = uuid.UUID("00000000-0000-4000-8000-000000000064")
PRINCIPAL = Principal(firm_id=FIRM, user_id=USER, role=Role.staff, credential="api_token")

# Words of the bodies: "ledger" is in every tenth document, "zebra" in one in a thousand.
WORDS = [
    "invoice",
    "ledger",
    "return",
    "statement",
    "payroll",
    "audit",
    "receipt",
    "contract",
    "engagement",
    "budget",
]


@pytest.fixture
async def session(test_database: fixtures.TestDatabase) -> AsyncIterator[AsyncSession]:
    async with populated_session(test_database, populate) as session:
        yield session


async def _fill(conn: AsyncConnection, firm: uuid.UUID, n: int) -> None:
    params = {"firm": firm, "n": n, "client": CLIENT if firm == FIRM else None}
    await conn.execute(
        text(
            "INSERT INTO document_blobs (id, firm_id, sha256, size, content_type, storage_key)"
            " VALUES (md5(CAST(:firm AS text))::uuid, :firm, repeat('0', 64), 1,"
            " 'application/pdf', 'k')"
        ),
        params,
    )
    await conn.execute(
        text(
            "INSERT INTO documents (id, firm_id, title, document_type, tags, client_id, status,"
            " current_version_id, deleted_at, created_at, updated_at)"
            " SELECT md5(:firm || 'd' || i)::uuid, :firm, 'Document ' || i,"
            " (ARRAY['general', 'tax_return', 'letter'])[1 + i % 3],"
            " ARRAY['group-' || (i % 100)],"
            " CASE WHEN i % 500 = 0 THEN CAST(:client AS uuid) END,"
            " (ARRAY['draft', 'in_review', 'approved', 'published'])[1 + i % 4],"
            " md5(:firm || 'v' || CASE WHEN i % 5 = 0 THEN 2 ELSE 1 END || '-' || i)::uuid,"
            " CASE WHEN i % 50 = 0 THEN now() END,"
            " now() - i * interval '1 minute', now() - i * interval '1 minute'"
            " FROM generate_series(1, :n) AS i"
        ),
        params,
    )
    # Version 1 of every document, and a version 2 (the current one) of every fifth.
    await conn.execute(
        text(
            "INSERT INTO document_versions (id, firm_id, document_id, number, blob_id,"
            " file_name, sha256, size, content_type, text_status, body_text, search_config,"
            " search)"
            " SELECT md5(:firm || 'v' || v || '-' || i)::uuid, :firm,"
            " md5(:firm || 'd' || i)::uuid, v, md5(CAST(:firm AS text))::uuid, 'f.pdf',"
            " repeat('0', 64), 1, 'application/pdf', 'extracted', b.body, 'english',"
            " setweight(to_tsvector('english', 'Document ' || i), 'A')"
            " || setweight(to_tsvector('english', 'group-' || (i % 100)), 'B')"
            " || setweight(to_tsvector('english', b.body), 'C')"
            " FROM generate_series(1, :n) AS i, generate_series(1, 2) AS v,"
            " LATERAL (SELECT (CAST(:words AS text[]))[1 + i % 10] || ' '"
            " || (CAST(:words AS text[]))[1 + (i / 10) % 10] || ' figures for item ' || i"
            " || CASE WHEN i % 1000 = 7 THEN ' zebra' ELSE '' END AS body) AS b"
            " WHERE v = 1 OR i % 5 = 0"
        ),
        {**params, "words": WORDS},
    )


async def populate(conn: AsyncConnection) -> None:
    # Documents and versions refer to each other; foreign keys are not what this measures,
    # and checking them row by row (or writing each document twice) took most of the time.
    await conn.execute(text("SET LOCAL session_replication_role = replica"))
    await insert_firm(conn, OTHER, "Search index test, another firm")
    await _fill(conn, OTHER, OTHER_DOCUMENTS)
    await insert_firm(conn, FIRM, "Search index test")
    await conn.execute(
        text(
            "INSERT INTO clients (id, firm_id, kind, name, status, tags, custom_fields)"
            " VALUES (:client, :firm, 'organization', 'Client', 'active', '{}', '{}')"
        ),
        {"client": CLIENT, "firm": FIRM},
    )
    await _fill(conn, FIRM, DOCUMENTS)
    await conn.execute(text("SET LOCAL session_replication_role = DEFAULT"))
    for table in ("documents", "document_versions", "document_blobs"):
        await conn.execute(text(f"ANALYZE {table}"))


LATER = SearchCursor(rank=0.05, id=uuid.uuid4())


def case(q: str, cursor: SearchCursor | None = None, **filters: Any) -> Select[Any]:
    return search_query(PRINCIPAL, q, SearchFilters(**filters), limit=50, cursor=cursor)


CASES: dict[str, Select[Any]] = {
    "a rare word": case("zebra"),
    "a common word": case("ledger"),
    "a common word, later page": case("ledger", LATER),
    "two words": case("ledger audit"),
    "a phrase": case('"ledger audit"'),
    "a title word": case("document"),
    "by client": case("ledger", client_id=CLIENT),
    "by tag": case("ledger", tag="group-7"),
    "by type": case("ledger", document_type="tax_return"),
    "by status": case("ledger", status=DocumentStatus.published),
    "every filter, later page": case(
        "ledger",
        LATER,
        client_id=CLIENT,
        tag="group-0",
        document_type="letter",
        status=DocumentStatus.draft,
    ),
}


async def test_search_uses_indexes_at_100000_documents(session: AsyncSession) -> None:
    plans = await app_plans(session, FIRM, CASES)
    # The firm's text-search configuration is one row of firms by its key, which the planner
    # may read with a sequential scan while the table is small (as in a test database).
    assert_no_sequential_scan(
        {name: plan.replace("Seq Scan on firms", "firm row") for name, plan in plans.items()}
    )
