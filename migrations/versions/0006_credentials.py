"""the per-firm credentials vault

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RUNTIME_ROLES = ("firmflow_app", "firmflow_system")


def upgrade() -> None:
    op.create_table(
        "credentials",
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column("value_encrypted", sa.Text(), nullable=False),
        sa.Column(
            "value_updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("created_by", sa.Uuid(), nullable=True),
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
        sa.CheckConstraint(
            "name ~ '^[a-z][a-z0-9_]{0,62}$'", name=op.f("ck_credentials_name_is_identifier")
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.id"], name=op.f("fk_credentials_firm_id_firms"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_credentials_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credentials")),
        sa.UniqueConstraint("firm_id", "name", name=op.f("uq_credentials_firm_id_name")),
    )
    op.create_index(op.f("ix_credentials_firm_id"), "credentials", ["firm_id"])
    op.create_index(
        "ix_credentials_firm_id_created_at_id", "credentials", ["firm_id", "created_at", "id"]
    )
    op.execute("ALTER TABLE credentials ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE credentials FORCE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY firm_isolation ON credentials "
        "USING (firm_id = current_setting('app.firm_id', true)::uuid)"
    )
    for role in RUNTIME_ROLES:
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON credentials TO {role}")


def downgrade() -> None:
    op.drop_table("credentials")
