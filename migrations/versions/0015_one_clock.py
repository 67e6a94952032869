"""one clock for created_at and updated_at: clock_timestamp() for both

Every table with both columns defaulted ``updated_at`` to ``now()`` (the start of the
transaction) while rows were created with ``clock_timestamp()`` (the automations table's
default, and what services wrote explicitly), so a new row could look updated before it was
created. The tables are read from the database, so none is missed. A credential's
``value_updated_at`` (set when its secret is replaced) follows the same clock.

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ("created_at", "updated_at")
# What downgrade restores where it was not now().
_CREATED_AT_BEFORE = {"automations": "clock_timestamp()"}


def _timestamped_tables() -> list[str]:
    rows = op.get_bind().execute(
        sa.text(
            "SELECT table_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND column_name = ANY(:columns) "
            "GROUP BY table_name HAVING count(*) = :count ORDER BY table_name"
        ),
        {"columns": list(_COLUMNS), "count": len(_COLUMNS)},
    )
    return [name for (name,) in rows]


def upgrade() -> None:
    for table in _timestamped_tables():
        for column in _COLUMNS:
            op.alter_column(table, column, server_default=sa.text("clock_timestamp()"))
    op.alter_column("credentials", "value_updated_at", server_default=sa.text("clock_timestamp()"))


def downgrade() -> None:
    op.alter_column("credentials", "value_updated_at", server_default=sa.text("now()"))
    for table in _timestamped_tables():
        created = _CREATED_AT_BEFORE.get(table, "now()")
        op.alter_column(table, "created_at", server_default=sa.text(created))
        op.alter_column(table, "updated_at", server_default=sa.text("now()"))
