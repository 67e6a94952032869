"""password recovery, throttling and two-factor

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "firmflow_app"
SYSTEM_ROLE = "firmflow_system"
TENANT_TABLES = (
    "password_reset_tokens",
    "two_factor_credentials",
    "two_factor_recovery_codes",
    "mfa_challenges",
    "firm_security_policies",
)
# Cross-firm bookkeeping: the app role must see none of it.
SYSTEM_TABLES = ("auth_throttles",)


def _firm_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["firm_id"], ["firms.id"], name=op.f(f"fk_{table}_firm_id_firms"), ondelete="CASCADE"
    )


def _user_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["user_id"], ["users.id"], name=op.f(f"fk_{table}_user_id_users"), ondelete="CASCADE"
    )


def _now(name: str) -> sa.Column[sa.DateTime]:
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def _secure_tables() -> None:
    for table in TENANT_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY firm_isolation ON {table} "
            "USING (firm_id = current_setting('app.firm_id', true)::uuid)"
        )
    for table in SYSTEM_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY system_only ON {table} USING (false)")
    for role in (APP_ROLE, SYSTEM_ROLE):
        for table in (*TENANT_TABLES, *SYSTEM_TABLES):
            op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {role}")


def upgrade() -> None:
    op.create_table(
        "auth_throttles",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_auth_throttles")),
    )
    op.create_table(
        "password_reset_tokens",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        _now("created_at"),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("firm_id", sa.Uuid(), nullable=False),
        _firm_fk("password_reset_tokens"),
        _user_fk("password_reset_tokens"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_reset_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_password_reset_tokens_token_hash")),
    )
    op.create_table(
        "two_factor_credentials",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("secret_encrypted", sa.Text(), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_step", sa.BigInteger(), nullable=True),
        sa.Column("firm_id", sa.Uuid(), nullable=False),
        _now("created_at"),
        _now("updated_at"),
        _firm_fk("two_factor_credentials"),
        _user_fk("two_factor_credentials"),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_two_factor_credentials")),
    )
    op.create_table(
        "two_factor_recovery_codes",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        _now("created_at"),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("firm_id", sa.Uuid(), nullable=False),
        _firm_fk("two_factor_recovery_codes"),
        _user_fk("two_factor_recovery_codes"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_two_factor_recovery_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_two_factor_recovery_codes_code_hash")),
    )
    op.create_table(
        "mfa_challenges",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=20), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        _now("created_at"),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("firm_id", sa.Uuid(), nullable=False),
        _firm_fk("mfa_challenges"),
        _user_fk("mfa_challenges"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mfa_challenges")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_mfa_challenges_token_hash")),
    )
    op.create_table(
        "firm_security_policies",
        sa.Column("firm_id", sa.Uuid(), nullable=False),
        sa.Column("require_two_factor", sa.Boolean(), nullable=False),
        _now("created_at"),
        _now("updated_at"),
        _firm_fk("firm_security_policies"),
        sa.PrimaryKeyConstraint("firm_id", name=op.f("pk_firm_security_policies")),
    )
    # firm_security_policies is keyed by firm_id already.
    for table in TENANT_TABLES[:-1]:
        op.create_index(op.f(f"ix_{table}_firm_id"), table, ["firm_id"], unique=False)
    for table in ("password_reset_tokens", "two_factor_recovery_codes", "mfa_challenges"):
        op.create_index(op.f(f"ix_{table}_user_id"), table, ["user_id"], unique=False)
    _secure_tables()


def downgrade() -> None:
    for table in (*reversed(TENANT_TABLES), *SYSTEM_TABLES):
        op.drop_table(table)
