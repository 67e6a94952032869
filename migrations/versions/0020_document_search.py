"""Document search: a firm-first search index and the view the search reads through

Under row-level security Postgres admits only leakproof operators to an index scan ahead
of the policy, and the text-search match ``@@`` (like ``@>`` on tags) is not leakproof: as
the application role, the GIN index over ``search`` would go unused and every search would
read all of the firm's versions. ``firm_document_search`` applies the same firm condition
as the policy, but as its owner, who (with ``BYPASSRLS``) lets the planner use every index
(the method of the ``firm_clients`` view, first migration). If the owner lacks
``BYPASSRLS`` the policies still apply through the view: slower, never wider.

The view holds what a search may find: the current version of each document not in the
bin. The search index becomes ``(firm_id, search)`` (``btree_gin``, first migration, puts
the uuid in a GIN index), so a query for a common word reads the firm's matches only, not
every firm's.

Revision ID: 0020
Revises: 0019
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "firmflow_app"
SYSTEM_ROLE = "firmflow_system"

# The join names both keys: documents.id finds the row by its primary key, and only the
# version the document points at is found.
VIEW = (
    "CREATE VIEW firm_document_search AS SELECT"
    " d.id, d.firm_id, d.title, d.document_type, d.tags, d.client_id, d.folder_id,"
    " d.status, d.created_at, d.updated_at,"
    " v.id AS version_id, v.number AS version_number, v.file_name, v.content_type,"
    " v.size, v.text_status, v.search_config, v.search, v.body_text"
    " FROM document_versions v"
    " JOIN documents d ON d.id = v.document_id AND d.current_version_id = v.id"
    " WHERE v.firm_id = current_setting('app.firm_id', true)::uuid"
    " AND d.firm_id = current_setting('app.firm_id', true)::uuid"
    " AND d.deleted_at IS NULL"
)


def upgrade() -> None:
    op.drop_index(
        "ix_document_versions_search", table_name="document_versions", postgresql_using="gin"
    )
    op.create_index(
        "ix_document_versions_firm_id_search",
        "document_versions",
        ["firm_id", "search"],
        unique=False,
        postgresql_using="gin",
    )
    op.execute(VIEW)
    for role in (APP_ROLE, SYSTEM_ROLE):
        op.execute(f"GRANT SELECT ON firm_document_search TO {role}")


def downgrade() -> None:
    op.execute("DROP VIEW firm_document_search")
    op.drop_index(
        "ix_document_versions_firm_id_search",
        table_name="document_versions",
        postgresql_using="gin",
    )
    op.create_index(
        "ix_document_versions_search",
        "document_versions",
        ["search"],
        unique=False,
        postgresql_using="gin",
    )
