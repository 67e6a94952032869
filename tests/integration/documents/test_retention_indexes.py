"""The sweep's due query at volume: 100,000 documents of one firm over ten years (four
types, a fifth of them a client's, some clients archived, 2 % in the bin, holds on
documents and on clients) beside 10,000 of another firm, with fresh statistics. EXPLAIN as
the application role: the documents are read through indexes, never scanned in full (the
firm's few policies, clients and holds may be, at this size)."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from models import RetentionPolicy
from services.documents.retention import due_query
from tests.fixtures import db as fixtures
from tests.plans import app_plans, insert_firm, populated_session

DOCUMENTS = 100_000
FIRM = uuid.UUID("00000000-0000-4000-8000-0000000000d1")
OTHER = uuid.UUID("00000000-0000-4000-8000-0000000000d2")
NOW = datetime.now(UTC)
# Tables the query must never read in full at this volume.
LARGE = ("documents",)


@pytest.fixture
async def session(test_database: fixtures.TestDatabase) -> AsyncIterator[AsyncSession]:
    async with populated_session(test_database, populate) as session:
        yield session


async def _fill(conn: AsyncConnection, firm: uuid.UUID, n: int) -> None:
    params = {"firm": firm, "key": str(firm), "n": n}
    await conn.execute(
        text(
            "INSERT INTO clients (id, firm_id, kind, name, status, tags, custom_fields,"
            " archived_at, created_at, updated_at)"
            " SELECT md5(:key || 'c' || i)::uuid, CAST(:firm AS uuid), 'organization',"
            " 'Client ' || i,"
            " 'active', '{}', '{}', CASE WHEN i % 4 = 0 THEN now() - i * interval '1 day' END,"
            " now(), now() FROM generate_series(1, :n / 100) AS i"
        ),
        params,
    )
    await conn.execute(
        text(
            "INSERT INTO documents (id, firm_id, title, document_type, tags, client_id, status,"
            " deleted_at, created_at, updated_at)"
            " SELECT md5(:key || 'd' || i)::uuid, CAST(:firm AS uuid), 'Document ' || i,"
            " (ARRAY['general', 'tax_return', 'letter', 'memo'])[1 + i % 4], '{}',"
            " CASE WHEN i % 5 = 0 THEN md5(:key || 'c' || (1 + i % (:n / 100)))::uuid END,"
            " 'draft', CASE WHEN i % 50 = 0 THEN now() - (i % 60) * interval '1 day' END,"
            " now() - (i % 3650) * interval '1 day', now()"
            " FROM generate_series(1, :n) AS i"
        ),
        params,
    )
    await conn.execute(
        text(
            "INSERT INTO document_retention_policies (id, firm_id, document_type, trigger,"
            " retain_days, grace_days, created_at, updated_at) VALUES"
            " (gen_random_uuid(), CAST(:firm AS uuid), 'tax_return', 'created', 3500, 30,"
            " now(), now()),"
            " (gen_random_uuid(), CAST(:firm AS uuid), 'memo', 'client_archived', 365, 0,"
            " now(), now())"
        ),
        params,
    )
    await conn.execute(
        text(
            "INSERT INTO document_legal_holds (id, firm_id, document_id, client_id, reason,"
            " created_at, updated_at)"
            " SELECT gen_random_uuid(), CAST(:firm AS uuid),"
            " CASE WHEN i % 2 = 0 THEN md5(:key || 'd' || (1 + i * 97 % :n))::uuid END,"
            " CASE WHEN i % 2 = 1 THEN md5(:key || 'c' || (1 + i % (:n / 100)))::uuid END,"
            " 'matter ' || i, now(), now() FROM generate_series(1, 200) AS i"
        ),
        params,
    )


async def populate(conn: AsyncConnection) -> None:
    await insert_firm(conn, OTHER, "Retention index neighbour")
    await _fill(conn, OTHER, DOCUMENTS // 10)
    await insert_firm(conn, FIRM, "Retention index test")
    await _fill(conn, FIRM, DOCUMENTS)
    for table in ("clients", "documents", "document_retention_policies", "document_legal_holds"):
        await conn.execute(text(f"ANALYZE {table}"))


def _full_scans(plan: str) -> list[str]:
    return [
        line.strip()
        for line in plan.splitlines()
        if any(f"Seq Scan on {table} " in f"{line} " for table in LARGE)
    ]


async def test_the_due_query_reads_documents_clients_and_holds_through_indexes(
    session: AsyncSession,
) -> None:
    batch = [uuid.UUID(int=i) for i in range(100)]
    policies = list(
        await session.scalars(select(RetentionPolicy).where(RetentionPolicy.firm_id == FIRM))
    )
    assert len(policies) == 2
    plans = await app_plans(
        session,
        FIRM,
        {
            "due": due_query(FIRM, NOW, policies),
            "due among a batch": due_query(FIRM, NOW, policies, among=batch),
        },
    )
    # A batch is read by its ids, whatever the policies.
    assert _full_scans(plans["due among a batch"]) == [], plans["due among a batch"]
    # The tax returns past their years: a range of the type's creation index. (The memos of
    # archived clients, a tenth of the firm's documents here, the planner may read either
    # through the clients' index or, with the full suite's statistics, in one parallel scan:
    # both were seen, so that branch is left to it.)
    assert "ix_documents_firm_id_document_type_created_at_id" in plans["due"], plans["due"]
