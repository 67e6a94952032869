"""SAML single sign-on per firm

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "firmflow_app"
SYSTEM_ROLE = "firmflow_system"
TABLES = ("sso_saml_configs", "sso_saml_requests", "sso_saml_assertions")


def _tenant_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("firm_id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
    ]


def upgrade() -> None:
    user_role = postgresql.ENUM(name="user_role", create_type=False)
    op.create_table(
        "sso_saml_configs",
        *_tenant_columns(),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("idp_metadata_xml", sa.Text(), nullable=False),
        sa.Column("idp_entity_id", sa.String(length=1024), nullable=False),
        sa.Column("email_attribute", sa.String(length=255), nullable=True),
        sa.Column("name_attribute", sa.String(length=255), nullable=True),
        sa.Column("groups_attribute", sa.String(length=255), nullable=True),
        sa.Column("role_mapping", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("default_role", user_role, nullable=True),
        sa.Column("jit_provisioning", sa.Boolean(), nullable=False),
        sa.Column("enforce_sso", sa.Boolean(), nullable=False),
        sa.Column("allow_idp_initiated", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["firms.id"],
            name=op.f("fk_sso_saml_configs_firm_id_firms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sso_saml_configs")),
        sa.UniqueConstraint("firm_id", name=op.f("uq_sso_saml_configs_firm_id")),
    )
    op.create_index(
        op.f("ix_sso_saml_configs_firm_id"), "sso_saml_configs", ["firm_id"], unique=False
    )
    op.create_table(
        "sso_saml_requests",
        *_tenant_columns(),
        sa.Column("relay_state_hash", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("consumed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["firms.id"],
            name=op.f("fk_sso_saml_requests_firm_id_firms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sso_saml_requests")),
        sa.UniqueConstraint("relay_state_hash", name=op.f("uq_sso_saml_requests_relay_state_hash")),
        sa.UniqueConstraint("request_id", name=op.f("uq_sso_saml_requests_request_id")),
    )
    op.create_index(
        op.f("ix_sso_saml_requests_firm_id"), "sso_saml_requests", ["firm_id"], unique=False
    )
    op.create_index(
        "ix_sso_saml_requests_firm_id_expires_at",
        "sso_saml_requests",
        ["firm_id", "expires_at"],
        unique=False,
    )
    op.create_table(
        "sso_saml_assertions",
        *_tenant_columns(),
        sa.Column("assertion_id", sa.String(length=256), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["firms.id"],
            name=op.f("fk_sso_saml_assertions_firm_id_firms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sso_saml_assertions")),
        sa.UniqueConstraint(
            "firm_id", "assertion_id", name=op.f("uq_sso_saml_assertions_firm_id_assertion_id")
        ),
    )
    op.create_index(
        op.f("ix_sso_saml_assertions_firm_id"), "sso_saml_assertions", ["firm_id"], unique=False
    )
    op.create_index(
        "ix_sso_saml_assertions_firm_id_expires_at",
        "sso_saml_assertions",
        ["firm_id", "expires_at"],
        unique=False,
    )
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY firm_isolation ON {table} "
            "USING (firm_id = current_setting('app.firm_id', true)::uuid)"
        )
        for role in (APP_ROLE, SYSTEM_ROLE):
            op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {role}")


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
