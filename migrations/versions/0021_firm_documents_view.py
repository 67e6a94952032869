"""The view the documents list reads through

Under row-level security Postgres admits only leakproof operators to an index scan ahead
of the policy, and ``@>`` on the tags is not leakproof: as the application role, the GIN
index over ``documents.tags`` would go unused and a filter by a rare tag would read every
document of the firm. ``firm_documents`` applies the same firm condition as the policy, but
as its owner, who (with ``BYPASSRLS``) lets the planner use every index (the method of the
``firm_clients`` view, first migration). If the owner lacks ``BYPASSRLS`` the policy still
applies through the view: slower, never wider. A later migration that adds columns to
``documents`` must recreate this view (``*`` is expanded when a view is made).

Revision ID: 0021
Revises: 0020
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "firmflow_app"
SYSTEM_ROLE = "firmflow_system"


def upgrade() -> None:
    op.execute(
        "CREATE VIEW firm_documents AS SELECT * FROM documents "
        "WHERE firm_id = current_setting('app.firm_id', true)::uuid"
    )
    for role in (APP_ROLE, SYSTEM_ROLE):
        op.execute(f"GRANT SELECT ON firm_documents TO {role}")


def downgrade() -> None:
    op.execute("DROP VIEW firm_documents")
