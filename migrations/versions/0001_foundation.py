"""foundation

Revision ID: 0001
Revises:
Create Date: 2026-11-22 11:04:52.095042
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


APP_ROLE = "firmflow_app"
SYSTEM_ROLE = "firmflow_system"
TENANT_TABLES = (
    "users",
    "login_sessions",
    "api_tokens",
    "invitations",
    "clients",
    "contacts",
    "audit_events",
    "outbox",
    "idempotency_keys",
    "client_imports",
    "client_import_rows",
)
ENUMS = ("user_role", "client_kind", "client_status", "import_status", "import_row_outcome")


def _secure_tables() -> None:
    """Row-level security on every tenant table, forced even for the owner; the runtime
    roles get data privileges only (audit events: insert and select, never change)."""
    op.execute("ALTER TABLE firms ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE firms FORCE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY firm_isolation ON firms "
        "USING (id = current_setting('app.firm_id', true)::uuid)"
    )
    for table in TENANT_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY firm_isolation ON {table} "
            "USING (firm_id = current_setting('app.firm_id', true)::uuid)"
        )
    for role in (APP_ROLE, SYSTEM_ROLE):
        op.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
        for table in ("firms", *TENANT_TABLES):
            privileges = (
                "SELECT, INSERT" if table == "audit_events" else "SELECT, INSERT, UPDATE, DELETE"
            )
            op.execute(f"GRANT {privileges} ON {table} TO {role}")


def upgrade() -> None:
    # Trigram search on client names/emails, with firm_id in the same GIN index.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
    op.create_table(
        "firms",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("slug", sa.String(length=63), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("default_currency", sa.String(length=3), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_firms")),
        sa.UniqueConstraint("slug", name=op.f("uq_firms_slug")),
    )
    op.create_table(
        "audit_events",
        sa.Column("actor_type", sa.String(length=20), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("record_type", sa.String(length=50), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=True),
        sa.Column("summary", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("firm_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["firms.id"],
            name=op.f("fk_audit_events_firm_id_firms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index(op.f("ix_audit_events_firm_id"), "audit_events", ["firm_id"], unique=False)
    op.create_index(
        "ix_audit_events_firm_id_actor",
        "audit_events",
        ["firm_id", "actor_id", "created_at"],
        unique=False,
    )
    op.create_index(
        "ix_audit_events_firm_id_created_at_id",
        "audit_events",
        ["firm_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_audit_events_firm_id_record",
        "audit_events",
        ["firm_id", "record_type", "record_id", "created_at"],
        unique=False,
    )
    op.create_table(
        "clients",
        sa.Column("kind", sa.Enum("organization", "person", name="client_kind"), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("phone", sa.String(length=50), nullable=True),
        sa.Column(
            "status",
            sa.Enum("prospect", "active", "inactive", name="client_status"),
            nullable=False,
        ),
        sa.Column("tags", postgresql.ARRAY(sa.String(length=50)), nullable=False),
        sa.Column("custom_fields", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("external_ref", sa.String(length=100), nullable=True),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
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
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.id"], name=op.f("fk_clients_firm_id_firms"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clients")),
    )
    op.create_index(op.f("ix_clients_firm_id"), "clients", ["firm_id"], unique=False)
    op.create_index(
        "ix_clients_firm_id_created_at_id", "clients", ["firm_id", "created_at", "id"], unique=False
    )
    op.create_index(
        "ix_clients_firm_id_status_created_at_id",
        "clients",
        ["firm_id", "status", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_clients_firm_id_tags",
        "clients",
        ["firm_id", "tags"],
        unique=False,
        postgresql_using="gin",
    )
    op.create_index(
        "ix_clients_search",
        "clients",
        ["firm_id", sa.literal_column("(lower(name || ' ' || coalesce(email, ''))) gin_trgm_ops")],
        unique=False,
        postgresql_using="gin",
    )
    op.create_index(
        "uq_clients_firm_id_email",
        "clients",
        ["firm_id", sa.literal_column("lower(email)")],
        unique=True,
        postgresql_where=sa.text("email IS NOT NULL"),
    )
    op.create_index(
        "uq_clients_firm_id_external_ref",
        "clients",
        ["firm_id", "external_ref"],
        unique=True,
        postgresql_where=sa.text("external_ref IS NOT NULL"),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("principal_id", sa.Uuid(), nullable=False),
        sa.Column("route", sa.String(length=200), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=False),
        sa.Column("response_body", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("firm_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["firms.id"],
            name=op.f("fk_idempotency_keys_firm_id_firms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint(
            "firm_id",
            "principal_id",
            "route",
            "key",
            name=op.f("uq_idempotency_keys_firm_id_principal_id_route_key"),
        ),
    )
    op.create_index(
        op.f("ix_idempotency_keys_firm_id"), "idempotency_keys", ["firm_id"], unique=False
    )
    op.create_table(
        "outbox",
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("firm_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.id"], name=op.f("fk_outbox_firm_id_firms"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_outbox_dedupe_key")),
    )
    op.create_index(op.f("ix_outbox_firm_id"), "outbox", ["firm_id"], unique=False)
    op.create_index(
        "ix_outbox_pending",
        "outbox",
        ["created_at"],
        unique=False,
        postgresql_where=sa.text("dispatched_at IS NULL"),
    )
    op.create_table(
        "users",
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column(
            "role",
            sa.Enum("owner", "admin", "staff", "builder", "client", name="user_role"),
            nullable=False,
        ),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
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
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.id"], name=op.f("fk_users_firm_id_firms"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
    )
    op.create_index(op.f("ix_users_firm_id"), "users", ["firm_id"], unique=False)
    op.create_index(
        "uq_users_firm_id_email",
        "users",
        ["firm_id", sa.literal_column("lower(email)")],
        unique=True,
    )
    op.create_index("ix_users_email", "users", [sa.literal_column("lower(email)")], unique=False)
    op.create_table(
        "api_tokens",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("firm_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.id"], name=op.f("fk_api_tokens_firm_id_firms"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_index(op.f("ix_api_tokens_firm_id"), "api_tokens", ["firm_id"], unique=False)
    op.create_index(op.f("ix_api_tokens_user_id"), "api_tokens", ["user_id"], unique=False)
    op.create_table(
        "client_imports",
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column(
            "status",
            sa.Enum("pending", "running", "completed", "failed", name="import_status"),
            nullable=False,
        ),
        sa.Column("source", sa.LargeBinary(), nullable=True),
        sa.Column("unknown_columns", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("total_rows", sa.Integer(), nullable=False),
        sa.Column("failure_reason", sa.String(length=500), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
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
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_client_imports_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["firms.id"],
            name=op.f("fk_client_imports_firm_id_firms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_client_imports")),
    )
    op.create_index(op.f("ix_client_imports_firm_id"), "client_imports", ["firm_id"], unique=False)
    op.create_index(
        "ix_client_imports_firm_id_created_at_id",
        "client_imports",
        ["firm_id", "created_at", "id"],
        unique=False,
    )
    op.create_table(
        "contacts",
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("phone", sa.String(length=50), nullable=True),
        sa.Column("title", sa.String(length=100), nullable=True),
        sa.Column("is_primary", sa.Boolean(), nullable=False),
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
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_contacts_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.id"], name=op.f("fk_contacts_firm_id_firms"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
    )
    op.create_index(op.f("ix_contacts_firm_id"), "contacts", ["firm_id"], unique=False)
    op.create_index(
        "ix_contacts_firm_id_client_id_created_at",
        "contacts",
        ["firm_id", "client_id", "created_at", "id"],
        unique=False,
    )
    op.create_table(
        "invitations",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("firm_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.id"], name=op.f("fk_invitations_firm_id_firms"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_invitations_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitations")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_invitations_token_hash")),
    )
    op.create_index(op.f("ix_invitations_firm_id"), "invitations", ["firm_id"], unique=False)
    op.create_index(op.f("ix_invitations_user_id"), "invitations", ["user_id"], unique=False)
    op.create_table(
        "login_sessions",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("firm_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["firms.id"],
            name=op.f("fk_login_sessions_firm_id_firms"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_login_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_login_sessions_token_hash")),
    )
    op.create_index(op.f("ix_login_sessions_firm_id"), "login_sessions", ["firm_id"], unique=False)
    op.create_index(op.f("ix_login_sessions_user_id"), "login_sessions", ["user_id"], unique=False)
    op.create_table(
        "client_import_rows",
        sa.Column("import_id", sa.Uuid(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "outcome",
            sa.Enum("pending", "created", "skipped", "invalid", name="import_row_outcome"),
            nullable=False,
        ),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("client_id", sa.Uuid(), nullable=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("firm_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["firms.id"],
            name=op.f("fk_client_import_rows_firm_id_firms"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["client_imports.id"],
            name=op.f("fk_client_import_rows_import_id_client_imports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("import_id", "line", name=op.f("pk_client_import_rows")),
    )
    op.create_index(
        op.f("ix_client_import_rows_firm_id"), "client_import_rows", ["firm_id"], unique=False
    )
    op.create_index(
        "ix_client_import_rows_firm_id_import_outcome",
        "client_import_rows",
        ["firm_id", "import_id", "outcome", "line"],
        unique=False,
    )
    _secure_tables()
    _create_firm_clients_view()


def _create_firm_clients_view() -> None:
    """Clients of the firm in ``app.firm_id``, for list queries with filters.

    Under row-level security Postgres admits only leakproof operators to an index scan ahead
    of the policy; ``LIKE``, ``@>`` and enum ``=`` are not, so the search, tag and status
    indexes would go unused. This view applies the same firm condition as the policy, but as
    its owner, who (with ``BYPASSRLS``) lets the planner use every index. If the owner lacks
    ``BYPASSRLS`` the policy still applies through the view: slower, never wider. A later
    migration that adds columns to ``clients`` must recreate this view."""
    op.execute(
        "CREATE VIEW firm_clients AS SELECT * FROM clients "
        "WHERE firm_id = current_setting('app.firm_id', true)::uuid"
    )
    for role in (APP_ROLE, SYSTEM_ROLE):
        op.execute(f"GRANT SELECT ON firm_clients TO {role}")


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS firm_clients")
    op.drop_index("ix_client_import_rows_firm_id_import_outcome", table_name="client_import_rows")
    op.drop_index(op.f("ix_client_import_rows_firm_id"), table_name="client_import_rows")
    op.drop_table("client_import_rows")
    op.drop_index(op.f("ix_login_sessions_user_id"), table_name="login_sessions")
    op.drop_index(op.f("ix_login_sessions_firm_id"), table_name="login_sessions")
    op.drop_table("login_sessions")
    op.drop_index(op.f("ix_invitations_user_id"), table_name="invitations")
    op.drop_index(op.f("ix_invitations_firm_id"), table_name="invitations")
    op.drop_table("invitations")
    op.drop_index("ix_contacts_firm_id_client_id_created_at", table_name="contacts")
    op.drop_index(op.f("ix_contacts_firm_id"), table_name="contacts")
    op.drop_table("contacts")
    op.drop_index("ix_client_imports_firm_id_created_at_id", table_name="client_imports")
    op.drop_index(op.f("ix_client_imports_firm_id"), table_name="client_imports")
    op.drop_table("client_imports")
    op.drop_index(op.f("ix_api_tokens_user_id"), table_name="api_tokens")
    op.drop_index(op.f("ix_api_tokens_firm_id"), table_name="api_tokens")
    op.drop_table("api_tokens")
    op.drop_index("ix_users_email", table_name="users")
    op.drop_index("uq_users_firm_id_email", table_name="users")
    op.drop_index(op.f("ix_users_firm_id"), table_name="users")
    op.drop_table("users")
    op.drop_index(
        "ix_outbox_pending", table_name="outbox", postgresql_where=sa.text("dispatched_at IS NULL")
    )
    op.drop_index(op.f("ix_outbox_firm_id"), table_name="outbox")
    op.drop_table("outbox")
    op.drop_index(op.f("ix_idempotency_keys_firm_id"), table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
    op.drop_index(
        "uq_clients_firm_id_external_ref",
        table_name="clients",
        postgresql_where=sa.text("external_ref IS NOT NULL"),
    )
    op.drop_index(
        "uq_clients_firm_id_email",
        table_name="clients",
        postgresql_where=sa.text("email IS NOT NULL"),
    )
    op.drop_index("ix_clients_search", table_name="clients", postgresql_using="gin")
    op.drop_index("ix_clients_firm_id_tags", table_name="clients", postgresql_using="gin")
    op.drop_index("ix_clients_firm_id_status_created_at_id", table_name="clients")
    op.drop_index("ix_clients_firm_id_created_at_id", table_name="clients")
    op.drop_index(op.f("ix_clients_firm_id"), table_name="clients")
    op.drop_table("clients")
    op.drop_index("ix_audit_events_firm_id_record", table_name="audit_events")
    op.drop_index("ix_audit_events_firm_id_created_at_id", table_name="audit_events")
    op.drop_index("ix_audit_events_firm_id_actor", table_name="audit_events")
    op.drop_index(op.f("ix_audit_events_firm_id"), table_name="audit_events")
    op.drop_table("audit_events")
    op.drop_table("firms")
    for enum in ENUMS:
        op.execute(f"DROP TYPE IF EXISTS {enum}")
