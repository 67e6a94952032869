"""automation flow: approvals and their votes, run depth / concurrency key / parent /
canceled_by, queued and skipped runs, schedule / event / call / debounce triggers, the
latest trigger on automations and the waited-for events on versions

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RUNTIME_ROLES = ("firmflow_app", "firmflow_system")
TENANT_TABLES = ("automation_approvals", "automation_approval_votes")
NEW_VALUES = {
    "automation_run_status": ("queued", "skipped"),
    "automation_run_trigger": ("schedule", "event", "call", "debounce"),
}


def upgrade() -> None:
    # A new enum value cannot be used in the transaction that adds it (the partial index
    # below names 'queued'), so the values are added and committed first.
    with op.get_context().autocommit_block():
        for enum_name, values in NEW_VALUES.items():
            for value in values:
                op.execute(f"ALTER TYPE {enum_name} ADD VALUE IF NOT EXISTS '{value}'")
    op.create_table(
        "automation_approvals",
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("automation_id", sa.Uuid(), nullable=False),
        sa.Column("step_id", sa.String(length=64), nullable=False),
        sa.Column("visit", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending", "approved", "rejected", "expired", "canceled", name="approval_status"
            ),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("approver_roles", postgresql.ARRAY(sa.String(length=20)), nullable=False),
        sa.Column("approver_user_ids", postgresql.ARRAY(sa.Uuid()), nullable=False),
        sa.Column("quorum", sa.Integer(), nullable=False),
        sa.Column("allow_initiator", sa.Boolean(), nullable=False),
        sa.Column("initiator_id", sa.Uuid(), nullable=True),
        sa.Column("form", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
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
        sa.CheckConstraint("quorum >= 1", name=op.f("ck_automation_approvals_quorum_positive")),
        sa.ForeignKeyConstraint(
            ["automation_id"],
            ["automations.id"],
            name=op.f("fk_automation_approvals_automation_id_automations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["firms.id"],
            name=op.f("fk_automation_approvals_firm_id_firms"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["initiator_id"],
            ["users.id"],
            name=op.f("fk_automation_approvals_initiator_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["automation_runs.id"],
            name=op.f("fk_automation_approvals_run_id_automation_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_automation_approvals")),
        sa.UniqueConstraint(
            "run_id", "step_id", "visit", name=op.f("uq_automation_approvals_run_id_step_id_visit")
        ),
    )
    op.create_index(
        op.f("ix_automation_approvals_firm_id"), "automation_approvals", ["firm_id"], unique=False
    )
    op.create_index(
        "ix_automation_approvals_firm_id_created_at_id",
        "automation_approvals",
        ["firm_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_automation_approvals_firm_id_run_id",
        "automation_approvals",
        ["firm_id", "run_id"],
        unique=False,
    )
    op.create_index(
        "ix_automation_approvals_firm_id_status_created_at_id",
        "automation_approvals",
        ["firm_id", "status", "created_at", "id"],
        unique=False,
    )
    op.create_table(
        "automation_approval_votes",
        sa.Column("approval_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column(
            "decision", sa.Enum("approve", "reject", name="approval_decision"), nullable=False
        ),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("form", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("firm_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["approval_id"],
            ["automation_approvals.id"],
            name=op.f("fk_automation_approval_votes_approval_id_automation_approvals"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["firms.id"],
            name=op.f("fk_automation_approval_votes_firm_id_firms"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_automation_approval_votes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_automation_approval_votes")),
        sa.UniqueConstraint(
            "approval_id", "user_id", name=op.f("uq_automation_approval_votes_approval_id_user_id")
        ),
    )
    op.create_index(
        op.f("ix_automation_approval_votes_approval_id"),
        "automation_approval_votes",
        ["approval_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_automation_approval_votes_firm_id"),
        "automation_approval_votes",
        ["firm_id"],
        unique=False,
    )
    op.add_column(
        "automation_runs", sa.Column("depth", sa.Integer(), server_default="0", nullable=False)
    )
    op.add_column(
        "automation_runs", sa.Column("concurrency_key", sa.String(length=200), nullable=True)
    )
    op.add_column("automation_runs", sa.Column("parent_run_id", sa.Uuid(), nullable=True))
    op.add_column("automation_runs", sa.Column("canceled_by", sa.Uuid(), nullable=True))
    op.create_index(
        "ix_automation_runs_active_slots",
        "automation_runs",
        ["automation_id", "concurrency_key", "status", "created_at"],
        unique=False,
        postgresql_where="status IN ('queued', 'running')",
    )
    op.create_foreign_key(
        op.f("fk_automation_runs_parent_run_id_automation_runs"),
        "automation_runs",
        "automation_runs",
        ["parent_run_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_foreign_key(
        op.f("fk_automation_runs_canceled_by_users"),
        "automation_runs",
        "users",
        ["canceled_by"],
        ["id"],
        ondelete="SET NULL",
    )
    op.add_column(
        "automation_versions",
        sa.Column(
            "wait_events",
            postgresql.ARRAY(sa.String(length=100)),
            server_default="{}",
            nullable=False,
        ),
    )
    op.add_column("automations", sa.Column("trigger_type", sa.String(length=20), nullable=True))
    op.add_column("automations", sa.Column("trigger_event", sa.String(length=100), nullable=True))
    op.create_index(
        "ix_automations_firm_id_trigger_event",
        "automations",
        ["firm_id", "trigger_event"],
        unique=False,
    )
    op.create_check_constraint(
        op.f("ck_automation_runs_depth_not_negative"), "automation_runs", "depth >= 0"
    )
    op.drop_constraint(
        "uq_automation_run_steps_run_id_position", "automation_run_steps", type_="unique"
    )
    op.create_index(
        "ix_automation_run_steps_run_id_position", "automation_run_steps", ["run_id", "position"]
    )
    op.alter_column(
        "automation_run_steps",
        "step_id",
        type_=sa.String(length=200),
        existing_type=sa.String(length=64),
        existing_nullable=False,
    )
    for table in TENANT_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY firm_isolation ON {table} "
            "USING (firm_id = current_setting('app.firm_id', true)::uuid)"
        )
        for role in RUNTIME_ROLES:
            op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {role}")


def downgrade() -> None:
    op.execute("DELETE FROM automation_run_steps WHERE step_id LIKE '%.%'")
    op.alter_column(
        "automation_run_steps",
        "step_id",
        type_=sa.String(length=64),
        existing_type=sa.String(length=200),
        existing_nullable=False,
    )
    op.drop_index("ix_automation_run_steps_run_id_position", table_name="automation_run_steps")
    op.create_unique_constraint(
        "uq_automation_run_steps_run_id_position", "automation_run_steps", ["run_id", "position"]
    )
    op.drop_constraint(
        op.f("ck_automation_runs_depth_not_negative"), "automation_runs", type_="check"
    )
    op.drop_index("ix_automations_firm_id_trigger_event", table_name="automations")
    op.drop_column("automations", "trigger_event")
    op.drop_column("automations", "trigger_type")
    op.drop_column("automation_versions", "wait_events")
    op.drop_constraint(
        op.f("fk_automation_runs_canceled_by_users"), "automation_runs", type_="foreignkey"
    )
    op.drop_constraint(
        op.f("fk_automation_runs_parent_run_id_automation_runs"),
        "automation_runs",
        type_="foreignkey",
    )
    op.drop_index(
        "ix_automation_runs_active_slots",
        table_name="automation_runs",
        postgresql_where="status IN ('queued', 'running')",
    )
    op.drop_column("automation_runs", "canceled_by")
    op.drop_column("automation_runs", "parent_run_id")
    op.drop_column("automation_runs", "concurrency_key")
    op.drop_column("automation_runs", "depth")
    op.drop_index(
        op.f("ix_automation_approval_votes_firm_id"), table_name="automation_approval_votes"
    )
    op.drop_index(
        op.f("ix_automation_approval_votes_approval_id"), table_name="automation_approval_votes"
    )
    op.drop_table("automation_approval_votes")
    op.drop_index(
        "ix_automation_approvals_firm_id_status_created_at_id", table_name="automation_approvals"
    )
    op.drop_index("ix_automation_approvals_firm_id_run_id", table_name="automation_approvals")
    op.drop_index(op.f("ix_automation_approvals_firm_id"), table_name="automation_approvals")
    op.drop_table("automation_approvals")
    for enum_name in ("approval_decision", "approval_status"):
        op.execute(f"DROP TYPE {enum_name}")
    # Postgres cannot drop an enum value: runs in the new states go, the values stay
    # (unused) until the type is dropped with 0008's downgrade.
    op.execute("DELETE FROM automation_runs WHERE status IN ('queued', 'skipped')")
