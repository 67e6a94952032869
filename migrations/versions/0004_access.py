"""browser sessions and the permission model

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A client-role user belongs to one client of the firm; everyone else to none.
    op.add_column("users", sa.Column("client_id", sa.Uuid(), nullable=True))
    op.create_foreign_key(
        op.f("fk_users_client_id_clients"), "users", "clients", ["client_id"], ["id"]
    )
    op.create_index("ix_users_firm_id_client_id", "users", ["firm_id", "client_id"])
    # A user's own sessions and tokens, newest first, for GET /me/sessions.
    for table in ("login_sessions", "api_tokens"):
        op.create_index(
            f"ix_{table}_firm_id_user_id_created_at",
            table,
            ["firm_id", "user_id", "created_at", "id"],
        )
    # Fails if a client-role user already exists: which client they belong to cannot be
    # guessed, so an operator links them (or changes their role) before upgrading.
    op.create_check_constraint(
        op.f("ck_users_client_role_has_client"),
        "users",
        "role <> 'client' OR client_id IS NOT NULL",
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_users_client_role_has_client"), "users", type_="check")
    for table in ("login_sessions", "api_tokens"):
        op.drop_index(f"ix_{table}_firm_id_user_id_created_at", table_name=table)
    op.drop_index("ix_users_firm_id_client_id", table_name="users")
    op.drop_constraint(op.f("fk_users_client_id_clients"), "users", type_="foreignkey")
    op.drop_column("users", "client_id")
