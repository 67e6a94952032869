"""The documents list has an index behind each filter: with 100,000 documents of one firm
(each with its current version, some in the bin, a few under a legal hold) and fresh
statistics, EXPLAIN of the statements services.documents.documents builds, run as the
application runs them (row-level security on), shows no sequential scan (the method of
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
from models import DocumentStatus
from services.documents.documents import DocumentFilters, documents_query
from services.documents.folders import FolderFilters, folders_query
from tests.fixtures import db as fixtures
from tests.plans import app_plans, assert_no_sequential_scan, insert_firm, populated_session

DOCUMENTS = 100_000
FIRM = uuid.UUID("00000000-0000-4000-8000-000000000071")
USER = uuid.UUID("00000000-0000-4000-8000-000000000072")
CLIENT = uuid.UUID("00000000-0000-4000-8000-000000000073")
FOLDER = uuid.UUID("00000000-0000-4000-8000-000000000074")
PRINCIPAL = Principal(firm_id=FIRM, user_id=USER, role=Role.staff, credential="api_token")


@pytest.fixture
async def session(test_database: fixtures.TestDatabase) -> AsyncIterator[AsyncSession]:
    async with populated_session(test_database, populate) as session:
        yield session


async def populate(conn: AsyncConnection) -> None:
    await insert_firm(conn, FIRM, "Documents list")
    params = {"firm": FIRM, "client": CLIENT, "folder": FOLDER, "n": DOCUMENTS}
    statements = [
        "INSERT INTO clients (id, firm_id, kind, name, status, tags, custom_fields)"
        " VALUES (:client, :firm, 'organization', 'Client', 'active', '{}', '{}')",
        "INSERT INTO document_folders (id, firm_id, name, client_id)"
        " VALUES (:folder, :firm, 'Returns', :client)",
        "INSERT INTO document_blobs (id, firm_id, sha256, size, content_type, storage_key)"
        " VALUES (md5(CAST(:firm AS text))::uuid, :firm, repeat('0', 64), 1,"
        " 'application/pdf', 'k')",
        # One client in a hundred documents, one folder in a thousand, four statuses, twenty
        # types, a rare tag, one in fifty in the bin.
        # Foreign keys unchecked while filling (superuser): each document names its version
        # before the version exists, which saves updating 100,000 rows afterwards.
        "SET LOCAL session_replication_role = replica",
        "INSERT INTO documents (id, firm_id, title, document_type, tags, client_id, folder_id,"
        " status, deleted_at, current_version_id, created_at, updated_at)"
        " SELECT md5('d' || i)::uuid, :firm, 'Document ' || i, 'type_' || (i % 20),"
        " ARRAY['year-' || (i % 10), CASE WHEN i % 5000 = 0 THEN 'rare' ELSE 'common' END],"
        " CASE WHEN i % 100 = 0 THEN CAST(:client AS uuid) END,"
        " CASE WHEN i % 1000 = 0 THEN CAST(:folder AS uuid) END,"
        " (ARRAY['draft', 'in_review', 'approved', 'published'])[1 + i % 4],"
        " CASE WHEN i % 50 = 0 THEN now() - interval '1 day' END, md5('v' || i)::uuid,"
        " now() - i * interval '1 minute', now() - i * interval '1 minute'"
        " FROM generate_series(1, :n) AS i",
        "INSERT INTO document_versions (id, firm_id, document_id, number, blob_id, file_name,"
        " sha256, size, content_type, text_status, created_at)"
        " SELECT md5('v' || i)::uuid, :firm, md5('d' || i)::uuid, 1,"
        " md5(CAST(:firm AS text))::uuid, 'f.pdf', repeat('0', 64), 1, 'application/pdf',"
        " 'extracted', now() - i * interval '1 minute' FROM generate_series(1, :n) AS i",
        "SET LOCAL session_replication_role = origin",
        "INSERT INTO document_legal_holds (id, firm_id, client_id, reason)"
        " VALUES (gen_random_uuid(), :firm, :client, 'Audit')",
        # Holds on one document in fifty, nine in ten of them released.
        "INSERT INTO document_legal_holds (id, firm_id, document_id, reason, released_at)"
        " SELECT gen_random_uuid(), :firm, id, 'Dispute',"
        " CASE WHEN random() < 0.9 THEN now() END FROM documents"
        " WHERE firm_id = :firm AND random() < 0.02",
        # A few folders for each of a thousand clients' worth of filing.
        "INSERT INTO document_folders (id, firm_id, name, parent_id, created_at, updated_at)"
        " SELECT gen_random_uuid(), :firm, 'Folder ' || i, CAST(:folder AS uuid),"
        " now() - i * interval '1 minute', now() - i * interval '1 minute'"
        " FROM generate_series(1, 5000) AS i",
    ]
    for statement in statements:
        await conn.execute(text(statement), params)
    for table in ("documents", "document_versions", "document_legal_holds", "document_folders"):
        await conn.execute(text(f"ANALYZE {table}"))


FIRST = PageParams()
LATER = PageParams(cursor=Cursor(datetime.now(UTC) - timedelta(days=10), uuid.uuid4()))


def case(filters: DocumentFilters, page: PageParams = FIRST) -> Select[Any]:
    return documents_query(PRINCIPAL, filters, page)


CASES: dict[str, Select[Any]] = {
    "documents": case(DocumentFilters()),
    "documents, later page": case(DocumentFilters(), LATER),
    "the bin": case(DocumentFilters(deleted=True)),
    "by client": case(DocumentFilters(client_id=CLIENT)),
    "by folder": case(DocumentFilters(folder_id=FOLDER)),
    "by status": case(DocumentFilters(status=DocumentStatus.published)),
    "by type": case(DocumentFilters(document_type="type_7")),
    "by a rare tag": case(DocumentFilters(tags=("rare",))),
    "by a common tag": case(DocumentFilters(tags=("year-3",)), LATER),
    "by client and status": case(
        DocumentFilters(client_id=CLIENT, status=DocumentStatus.draft), LATER
    ),
    "folders of a client": folders_query(PRINCIPAL, FolderFilters(client_id=CLIENT), FIRST),
}


async def test_the_documents_list_uses_indexes(session: AsyncSession) -> None:
    plans = await app_plans(session, FIRM, CASES)
    assert_no_sequential_scan(plans)
    # The current version and the hold are looked up per row of the page, by index.
    assert "pk_document_versions" in plans["documents"], plans["documents"]
    assert "ix_documents_firm_id_client_id_created_at_id" in plans["by client"], plans["by client"]
    # Through the firm_documents view the tags' GIN index is usable: the planner takes it
    # for a rare tag unless its estimate of the tag's rows makes walking the newest
    # documents for one page look cheaper (as it did once in a database other tests had
    # filled); either way by an index of documents, never a scan of them.
    rare = plans["by a rare tag"]
    assert "ix_documents_tags" in rare or "ix_documents_firm_id_created_at_id" in rare, rare
