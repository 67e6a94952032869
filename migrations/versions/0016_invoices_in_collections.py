"""ix_invoices_in_collections: the invoices escalated to collections that are still owed

The invoice list's ``in_collections`` filter (the dashboard's "invoices in collections")
reads this partial index newest first instead of walking every invoice of the firm.

Revision ID: 0016
Revises: 0015
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_invoices_in_collections",
        "invoices",
        ["firm_id", "created_at", "id"],
        unique=False,
        postgresql_where=sa.text(
            "in_collections AND status IN ('open', 'partially_paid') AND kind = 'invoice'"
        ),
    )


def downgrade() -> None:
    op.drop_index("ix_invoices_in_collections", table_name="invoices")
