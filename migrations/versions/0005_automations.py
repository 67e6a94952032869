"""automation definitions and versions

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RUNTIME_ROLES = ("firmflow_app", "firmflow_system")
# Published versions never change: the runtime roles may only add and read them.
PRIVILEGES = {
    "automations": "SELECT, INSERT, UPDATE, DELETE",
    "automation_versions": "SELECT, INSERT",
}


def _timestamp(name: str, default: str = "now()") -> sa.Column[Any]:
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.text(default), nullable=False
    )


def upgrade() -> None:
    status = postgresql.ENUM(
        "draft", "active", "paused", "archived", name="automation_status", create_type=False
    )
    status.create(op.get_bind())
    op.create_table(
        "automations",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", status, nullable=False),
        sa.Column("draft", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("latest_version", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("firm_id", sa.Uuid(), nullable=False),
        _timestamp("created_at", "clock_timestamp()"),
        _timestamp("updated_at"),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.id"], name=op.f("fk_automations_firm_id_firms"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_automations_created_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_automations")),
    )
    op.create_index(op.f("ix_automations_firm_id"), "automations", ["firm_id"])
    op.create_index(
        "ix_automations_firm_id_created_at_id", "automations", ["firm_id", "created_at", "id"]
    )
    op.create_index(
        "ix_automations_firm_id_status_created_at_id",
        "automations",
        ["firm_id", "status", "created_at", "id"],
    )
    op.create_table(
        "automation_versions",
        sa.Column("automation_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("rolled_back_from", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        _timestamp("created_at", "clock_timestamp()"),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("firm_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["automation_id"],
            ["automations.id"],
            name=op.f("fk_automation_versions_automation_id_automations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["firms.id"],
            name=op.f("fk_automation_versions_firm_id_firms"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_automation_versions_created_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_automation_versions")),
        sa.UniqueConstraint(
            "automation_id", "version", name=op.f("uq_automation_versions_automation_id_version")
        ),
    )
    op.create_index(op.f("ix_automation_versions_firm_id"), "automation_versions", ["firm_id"])
    op.create_index(
        "ix_automation_versions_firm_id_automation_id_created_at",
        "automation_versions",
        ["firm_id", "automation_id", "created_at", "id"],
    )
    for table, privileges in PRIVILEGES.items():
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY firm_isolation ON {table} "
            "USING (firm_id = current_setting('app.firm_id', true)::uuid)"
        )
        for role in RUNTIME_ROLES:
            op.execute(f"GRANT {privileges} ON {table} TO {role}")


def downgrade() -> None:
    op.drop_table("automation_versions")
    op.drop_table("automations")
    op.execute("DROP TYPE automation_status")
