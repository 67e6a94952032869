"""staff tasks and the outbound HTTP allow-list

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "firmflow_app"
SYSTEM_ROLE = "firmflow_system"

_KEYSET_INDEXES = {
    "ix_tasks_firm_id_created_at_id": ["firm_id", "created_at", "id"],
    "ix_tasks_firm_id_status_created_at_id": ["firm_id", "status", "created_at", "id"],
    "ix_tasks_firm_id_assignee_id_created_at_id": ["firm_id", "assignee_id", "created_at", "id"],
    "ix_tasks_firm_id_client_id_created_at_id": ["firm_id", "client_id", "created_at", "id"],
    "ix_tasks_firm_id_due_date": ["firm_id", "due_date"],
}


def upgrade() -> None:
    op.add_column(
        "firms",
        sa.Column(
            "http_allowlist",
            postgresql.ARRAY(sa.String(length=253)),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
    )
    op.create_table(
        "tasks",
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("assignee_id", sa.Uuid(), nullable=True),
        sa.Column("client_id", sa.Uuid(), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_by", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("firm_id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("status IN ('open', 'done')", name=op.f("ck_tasks_status_known")),
        sa.CheckConstraint(
            "(status = 'done') = (completed_at IS NOT NULL)", name=op.f("ck_tasks_done_has_time")
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.id"], name=op.f("fk_tasks_firm_id_firms"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["users.id"],
            name=op.f("fk_tasks_assignee_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_tasks_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_tasks_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["completed_by"],
            ["users.id"],
            name=op.f("fk_tasks_completed_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
    )
    op.create_index(op.f("ix_tasks_firm_id"), "tasks", ["firm_id"])
    for name, columns in _KEYSET_INDEXES.items():
        op.create_index(name, "tasks", columns)
    op.create_index(
        "ix_tasks_open_due_date",
        "tasks",
        ["firm_id", "due_date"],
        postgresql_where=sa.text("status = 'open'"),
    )
    op.execute("ALTER TABLE tasks ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE tasks FORCE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY firm_isolation ON tasks "
        "USING (firm_id = current_setting('app.firm_id', true)::uuid)"
    )
    for role in (APP_ROLE, SYSTEM_ROLE):
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON tasks TO {role}")


def downgrade() -> None:
    op.drop_table("tasks")
    op.drop_column("firms", "http_allowlist")
