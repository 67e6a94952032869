"""automation runs, their steps, and inbound webhooks

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RUNTIME_ROLES = ("firmflow_app", "firmflow_system")
TABLES = ("automation_runs", "automation_run_steps", "automation_hooks")


def _tenant_columns(table: str) -> list[sa.schema.SchemaItem]:
    return [
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("firm_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.id"], name=op.f(f"fk_{table}_firm_id_firms"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    ]


def upgrade() -> None:
    run_status = postgresql.ENUM(
        "running",
        "succeeded",
        "failed",
        "canceled",
        name="automation_run_status",
        create_type=False,
    )
    run_trigger = postgresql.ENUM(
        "manual", "webhook", "retry", "resume", name="automation_run_trigger", create_type=False
    )
    step_status = postgresql.ENUM(
        "succeeded", "failed", "reused", name="automation_step_status", create_type=False
    )
    for enum_type in (run_status, run_trigger, step_status):
        enum_type.create(op.get_bind())

    op.create_table(
        "automation_runs",
        sa.Column("automation_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", run_status, nullable=False),
        sa.Column("trigger", run_trigger, nullable=False),
        sa.Column("trigger_payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("dedupe_key", sa.String(length=300), nullable=True),
        sa.Column("source_run_id", sa.Uuid(), nullable=True),
        sa.Column("error", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column(
            "started_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        *_tenant_columns("automation_runs"),
        sa.ForeignKeyConstraint(
            ["automation_id"],
            ["automations.id"],
            name=op.f("fk_automation_runs_automation_id_automations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_run_id"],
            ["automation_runs.id"],
            name=op.f("fk_automation_runs_source_run_id_automation_runs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_automation_runs_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.UniqueConstraint(
            "automation_id",
            "dedupe_key",
            name=op.f("uq_automation_runs_automation_id_dedupe_key"),
        ),
    )
    op.create_index(op.f("ix_automation_runs_firm_id"), "automation_runs", ["firm_id"])
    for name, columns in {
        "ix_automation_runs_firm_id_created_at_id": ["firm_id", "created_at", "id"],
        "ix_automation_runs_firm_id_automation_id_created_at_id": [
            "firm_id",
            "automation_id",
            "created_at",
            "id",
        ],
        "ix_automation_runs_firm_id_status_created_at_id": [
            "firm_id",
            "status",
            "created_at",
            "id",
        ],
    }.items():
        op.create_index(name, "automation_runs", columns)

    op.create_table(
        "automation_run_steps",
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("step_id", sa.String(length=64), nullable=False),
        sa.Column("step_type", sa.String(length=40), nullable=False),
        sa.Column("visit", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("status", step_status, nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("input", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("output", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        *_tenant_columns("automation_run_steps"),
        sa.CheckConstraint("visit >= 1", name=op.f("ck_automation_run_steps_visit_positive")),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["automation_runs.id"],
            name=op.f("fk_automation_run_steps_run_id_automation_runs"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "run_id",
            "step_id",
            "visit",
            name=op.f("uq_automation_run_steps_run_id_step_id_visit"),
        ),
        sa.UniqueConstraint(
            "run_id", "position", name=op.f("uq_automation_run_steps_run_id_position")
        ),
    )
    op.create_index(op.f("ix_automation_run_steps_firm_id"), "automation_run_steps", ["firm_id"])

    op.create_table(
        "automation_hooks",
        sa.Column("automation_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("token_prefix", sa.String(length=16), nullable=False),
        sa.Column("signing_secret_encrypted", sa.Text(), nullable=True),
        sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=True),
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
        *_tenant_columns("automation_hooks"),
        sa.ForeignKeyConstraint(
            ["automation_id"],
            ["automations.id"],
            name=op.f("fk_automation_hooks_automation_id_automations"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("automation_id", name=op.f("uq_automation_hooks_automation_id")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_automation_hooks_token_hash")),
    )
    op.create_index(op.f("ix_automation_hooks_firm_id"), "automation_hooks", ["firm_id"])

    for table in TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY firm_isolation ON {table} "
            "USING (firm_id = current_setting('app.firm_id', true)::uuid)"
        )
        for role in RUNTIME_ROLES:
            op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {role}")


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
    for enum_name in ("automation_step_status", "automation_run_trigger", "automation_run_status"):
        op.execute(f"DROP TYPE {enum_name}")
