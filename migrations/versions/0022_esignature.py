"""E-signature: envelopes, their documents, recipients, fields and audit trail, templates,
provider connections, the platform's sealing key, and the firm's e-signature settings.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 22:42:16.406286
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

APP_ROLE = "firmflow_app"
SYSTEM_ROLE = "firmflow_system"
TENANT_TABLES = (
    "envelope_templates",
    "envelopes",
    "esignature_connections",
    "envelope_documents",
    "envelope_recipients",
    "envelope_events",
    "envelope_fields",
)
revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "platform_signing_keys",
        sa.Column("certificate_pem", sa.Text(), nullable=False),
        sa.Column("key_encrypted", sa.Text(), nullable=False),
        sa.Column("fingerprint_sha256", sa.String(length=64), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_platform_signing_keys")),
        sa.UniqueConstraint(
            "fingerprint_sha256", name=op.f("uq_platform_signing_keys_fingerprint_sha256")
        ),
    )
    op.create_table(
        "envelope_templates",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("message", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column(
            "document_ids",
            postgresql.ARRAY(sa.Uuid()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column(
            "roles",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'"),
            nullable=False,
        ),
        sa.Column(
            "fields",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'"),
            nullable=False,
        ),
        sa.Column("expiry_days", sa.Integer(), server_default=sa.text("30"), nullable=False),
        sa.Column("reminder_first_days", sa.Integer(), server_default=sa.text("2"), nullable=False),
        sa.Column("reminder_every_days", sa.Integer(), server_default=sa.text("3"), nullable=False),
        sa.Column("reminder_max", sa.Integer(), server_default=sa.text("5"), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("firm_id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_envelope_templates_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["firms.id"],
            name=op.f("fk_envelope_templates_firm_id_firms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_envelope_templates")),
        sa.UniqueConstraint("firm_id", "name", name=op.f("uq_envelope_templates_firm_id_name")),
    )
    op.create_index(
        op.f("ix_envelope_templates_firm_id"), "envelope_templates", ["firm_id"], unique=False
    )
    op.create_index(
        "ix_envelope_templates_firm_id_created_at_id",
        "envelope_templates",
        ["firm_id", "created_at", "id"],
        unique=False,
    )
    op.create_table(
        "envelopes",
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("message", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("provider_ref", sa.String(length=255), nullable=True),
        sa.Column("client_id", sa.Uuid(), nullable=True),
        sa.Column("template_id", sa.Uuid(), nullable=True),
        sa.Column("expiry_days", sa.Integer(), server_default=sa.text("30"), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminder_first_days", sa.Integer(), server_default=sa.text("2"), nullable=False),
        sa.Column("reminder_every_days", sa.Integer(), server_default=sa.text("3"), nullable=False),
        sa.Column("reminder_max", sa.Integer(), server_default=sa.text("5"), nullable=False),
        sa.Column("send_round", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_by", sa.Uuid(), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("declined_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("void_reason", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("firm_id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(status = 'voided') = (voided_at IS NOT NULL)",
            name=op.f("ck_envelopes_voided_has_time"),
        ),
        sa.CheckConstraint(
            "provider IN ('builtin', 'docusign', 'dropbox_sign')",
            name=op.f("ck_envelopes_provider_known"),
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'sent', 'completed', 'declined', 'expired', 'voided')",
            name=op.f("ck_envelopes_status_known"),
        ),
        sa.CheckConstraint(
            "expiry_days BETWEEN 1 AND 120", name=op.f("ck_envelopes_expiry_days_bounded")
        ),
        sa.CheckConstraint(
            "reminder_every_days BETWEEN 1 AND 60", name=op.f("ck_envelopes_reminder_every_bounded")
        ),
        sa.CheckConstraint(
            "reminder_first_days BETWEEN 1 AND 60", name=op.f("ck_envelopes_reminder_first_bounded")
        ),
        sa.CheckConstraint(
            "reminder_max BETWEEN 0 AND 20", name=op.f("ck_envelopes_reminder_max_bounded")
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_envelopes_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_envelopes_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.id"], name=op.f("fk_envelopes_firm_id_firms"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["sent_by"], ["users.id"], name=op.f("fk_envelopes_sent_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["envelope_templates.id"],
            name=op.f("fk_envelopes_template_id_envelope_templates"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_envelopes")),
        sa.UniqueConstraint(
            "firm_id",
            "provider",
            "provider_ref",
            name=op.f("uq_envelopes_firm_id_provider_provider_ref"),
        ),
    )
    op.create_index(op.f("ix_envelopes_firm_id"), "envelopes", ["firm_id"], unique=False)
    op.create_index(
        "ix_envelopes_firm_id_client_id_created_at_id",
        "envelopes",
        ["firm_id", "client_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_envelopes_firm_id_created_at_id",
        "envelopes",
        ["firm_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_envelopes_firm_id_status_created_at_id",
        "envelopes",
        ["firm_id", "status", "created_at", "id"],
        unique=False,
    )
    op.create_table(
        "esignature_connections",
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("credential_id", sa.Uuid(), nullable=True),
        sa.Column("account_id", sa.String(length=255), nullable=True),
        sa.Column("base_url", sa.String(length=500), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("firm_id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "provider IN ('docusign', 'dropbox_sign')",
            name=op.f("ck_esignature_connections_provider_known"),
        ),
        sa.ForeignKeyConstraint(
            ["credential_id"],
            ["credentials.id"],
            name=op.f("fk_esignature_connections_credential_id_credentials"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["firms.id"],
            name=op.f("fk_esignature_connections_firm_id_firms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_esignature_connections")),
        sa.UniqueConstraint(
            "firm_id", "provider", name=op.f("uq_esignature_connections_firm_id_provider")
        ),
    )
    op.create_index(
        op.f("ix_esignature_connections_firm_id"),
        "esignature_connections",
        ["firm_id"],
        unique=False,
    )
    op.create_table(
        "envelope_documents",
        sa.Column("envelope_id", sa.Uuid(), nullable=False),
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("version_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("original_sha256", sa.String(length=64), nullable=False),
        sa.Column("page_count", sa.Integer(), nullable=False),
        sa.Column("page_sizes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("signed_version_id", sa.Uuid(), nullable=True),
        sa.Column("signed_sha256", sa.String(length=64), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("firm_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_envelope_documents_document_id_documents"),
        ),
        sa.ForeignKeyConstraint(
            ["envelope_id"],
            ["envelopes.id"],
            name=op.f("fk_envelope_documents_envelope_id_envelopes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["firms.id"],
            name=op.f("fk_envelope_documents_firm_id_firms"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["signed_version_id"],
            ["document_versions.id"],
            name=op.f("fk_envelope_documents_signed_version_id_document_versions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["document_versions.id"],
            name=op.f("fk_envelope_documents_version_id_document_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_envelope_documents")),
        sa.UniqueConstraint(
            "envelope_id", "document_id", name=op.f("uq_envelope_documents_envelope_id_document_id")
        ),
        sa.UniqueConstraint(
            "envelope_id", "position", name=op.f("uq_envelope_documents_envelope_id_position")
        ),
    )
    op.create_index(
        op.f("ix_envelope_documents_firm_id"), "envelope_documents", ["firm_id"], unique=False
    )
    op.create_index(
        "ix_envelope_documents_firm_id_document_id",
        "envelope_documents",
        ["firm_id", "document_id"],
        unique=False,
    )
    op.create_table(
        "envelope_recipients",
        sa.Column("envelope_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("role", sa.String(length=12), nullable=False),
        sa.Column("routing_order", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=True),
        sa.Column("template_role", sa.String(length=100), nullable=True),
        sa.Column("require_code", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("link_version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("viewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("consented_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("code_verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("declined_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decline_reason", sa.Text(), nullable=True),
        sa.Column("code_hash", sa.String(length=128), nullable=True),
        sa.Column("code_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("code_attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("signature_kind", sa.String(length=8), nullable=True),
        sa.Column("signature_text", sa.String(length=200), nullable=True),
        sa.Column("signature_image", sa.LargeBinary(), nullable=True),
        sa.Column("initials_text", sa.String(length=20), nullable=True),
        sa.Column("initials_image", sa.LargeBinary(), nullable=True),
        sa.Column("reminders_sent", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("provider_recipient_id", sa.String(length=255), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("firm_id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "role IN ('signer', 'approver', 'cc')", name=op.f("ck_envelope_recipients_role_known")
        ),
        sa.CheckConstraint(
            "signature_kind IS NULL OR signature_kind IN ('typed', 'drawn')",
            name=op.f("ck_envelope_recipients_signature_kind_known"),
        ),
        sa.CheckConstraint(
            "status IN ('created', 'sent', 'viewed', 'signed', 'declined')",
            name=op.f("ck_envelope_recipients_status_known"),
        ),
        sa.CheckConstraint(
            "routing_order >= 1", name=op.f("ck_envelope_recipients_routing_order_positive")
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_envelope_recipients_contact_id_contacts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["envelope_id"],
            ["envelopes.id"],
            name=op.f("fk_envelope_recipients_envelope_id_envelopes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["firms.id"],
            name=op.f("fk_envelope_recipients_firm_id_firms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_envelope_recipients")),
        sa.UniqueConstraint(
            "firm_id",
            "envelope_id",
            "provider_recipient_id",
            name=op.f("uq_envelope_recipients_firm_id_envelope_id_provider_recipient_id"),
        ),
    )
    op.create_index(
        op.f("ix_envelope_recipients_firm_id"), "envelope_recipients", ["firm_id"], unique=False
    )
    op.create_index(
        "ix_envelope_recipients_firm_id_envelope_id",
        "envelope_recipients",
        ["firm_id", "envelope_id"],
        unique=False,
    )
    op.create_table(
        "envelope_events",
        sa.Column("envelope_id", sa.Uuid(), nullable=False),
        sa.Column("recipient_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column(
            "occurred_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("ip_address", sa.String(length=45), nullable=True),
        sa.Column("user_agent", sa.String(length=500), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column(
            "detail",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("provider_event_id", sa.String(length=255), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("firm_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('created', 'sent', 'delivered', 'viewed', 'consented', 'code_sent', "
            "'code_verified', 'signed', 'declined', 'reminded', 'recipient_corrected', "
            "'expiry_warning', 'expired', 'resent', 'voided', 'completed', 'sealed')",
            name=op.f("ck_envelope_events_kind_known"),
        ),
        sa.ForeignKeyConstraint(
            ["envelope_id"],
            ["envelopes.id"],
            name=op.f("fk_envelope_events_envelope_id_envelopes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["firms.id"],
            name=op.f("fk_envelope_events_firm_id_firms"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["envelope_recipients.id"],
            name=op.f("fk_envelope_events_recipient_id_envelope_recipients"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_envelope_events")),
        sa.UniqueConstraint(
            "firm_id",
            "envelope_id",
            "provider_event_id",
            name=op.f("uq_envelope_events_firm_id_envelope_id_provider_event_id"),
        ),
    )
    op.create_index(
        op.f("ix_envelope_events_firm_id"), "envelope_events", ["firm_id"], unique=False
    )
    op.create_index(
        "ix_envelope_events_firm_id_envelope_id_occurred_at_id",
        "envelope_events",
        ["firm_id", "envelope_id", "occurred_at", "id"],
        unique=False,
    )
    op.create_table(
        "envelope_fields",
        sa.Column("envelope_id", sa.Uuid(), nullable=False),
        sa.Column("recipient_id", sa.Uuid(), nullable=False),
        sa.Column("envelope_document_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("page", sa.Integer(), nullable=False),
        sa.Column("x", sa.Float(), nullable=False),
        sa.Column("y", sa.Float(), nullable=False),
        sa.Column("width", sa.Float(), nullable=False),
        sa.Column("height", sa.Float(), nullable=False),
        sa.Column("required", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("label", sa.String(length=200), nullable=True),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("filled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("firm_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('signature', 'initials', 'date_signed', 'text', 'checkbox')",
            name=op.f("ck_envelope_fields_kind_known"),
        ),
        sa.CheckConstraint("page >= 1", name=op.f("ck_envelope_fields_page_positive")),
        sa.CheckConstraint(
            "x >= 0 AND y >= 0 AND width > 0 AND height > 0 AND x + width <= 1 AND y + height <= 1",
            name=op.f("ck_envelope_fields_on_the_page"),
        ),
        sa.ForeignKeyConstraint(
            ["envelope_document_id"],
            ["envelope_documents.id"],
            name=op.f("fk_envelope_fields_envelope_document_id_envelope_documents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["envelope_id"],
            ["envelopes.id"],
            name=op.f("fk_envelope_fields_envelope_id_envelopes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["firms.id"],
            name=op.f("fk_envelope_fields_firm_id_firms"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["envelope_recipients.id"],
            name=op.f("fk_envelope_fields_recipient_id_envelope_recipients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_envelope_fields")),
    )
    op.create_index(
        op.f("ix_envelope_fields_firm_id"), "envelope_fields", ["firm_id"], unique=False
    )
    op.create_index(
        "ix_envelope_fields_firm_id_envelope_id",
        "envelope_fields",
        ["firm_id", "envelope_id"],
        unique=False,
    )
    op.add_column(
        "firms",
        sa.Column(
            "esignature_legal_hold", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
    )
    op.add_column("firms", sa.Column("signing_certificate_pem", sa.Text(), nullable=True))
    op.add_column("firms", sa.Column("signing_key_encrypted", sa.Text(), nullable=True))
    for table in TENANT_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY firm_isolation ON {table} "
            "USING (firm_id = current_setting('app.firm_id', true)::uuid)"
        )
        for role in (APP_ROLE, SYSTEM_ROLE):
            op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {role}")
    # The platform's key belongs to no firm: only the system role (which bypasses row-level
    # security) reads or writes it, as with the tables of 0003_password_security.
    op.execute("ALTER TABLE platform_signing_keys ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE platform_signing_keys FORCE ROW LEVEL SECURITY")
    op.execute("CREATE POLICY system_only ON platform_signing_keys USING (false)")
    for role in (APP_ROLE, SYSTEM_ROLE):
        op.execute(f"GRANT SELECT, INSERT, UPDATE ON platform_signing_keys TO {role}")


def downgrade() -> None:
    op.drop_column("firms", "signing_key_encrypted")
    op.drop_column("firms", "signing_certificate_pem")
    op.drop_column("firms", "esignature_legal_hold")
    op.drop_index("ix_envelope_fields_firm_id_envelope_id", table_name="envelope_fields")
    op.drop_index(op.f("ix_envelope_fields_firm_id"), table_name="envelope_fields")
    op.drop_table("envelope_fields")
    op.drop_index(
        "ix_envelope_events_firm_id_envelope_id_occurred_at_id", table_name="envelope_events"
    )
    op.drop_index(op.f("ix_envelope_events_firm_id"), table_name="envelope_events")
    op.drop_table("envelope_events")
    op.drop_index("ix_envelope_recipients_firm_id_envelope_id", table_name="envelope_recipients")
    op.drop_index(op.f("ix_envelope_recipients_firm_id"), table_name="envelope_recipients")
    op.drop_table("envelope_recipients")
    op.drop_index("ix_envelope_documents_firm_id_document_id", table_name="envelope_documents")
    op.drop_index(op.f("ix_envelope_documents_firm_id"), table_name="envelope_documents")
    op.drop_table("envelope_documents")
    op.drop_index(op.f("ix_esignature_connections_firm_id"), table_name="esignature_connections")
    op.drop_table("esignature_connections")
    op.drop_index("ix_envelopes_firm_id_status_created_at_id", table_name="envelopes")
    op.drop_index("ix_envelopes_firm_id_created_at_id", table_name="envelopes")
    op.drop_index("ix_envelopes_firm_id_client_id_created_at_id", table_name="envelopes")
    op.drop_index(op.f("ix_envelopes_firm_id"), table_name="envelopes")
    op.drop_table("envelopes")
    op.drop_index("ix_envelope_templates_firm_id_created_at_id", table_name="envelope_templates")
    op.drop_index(op.f("ix_envelope_templates_firm_id"), table_name="envelope_templates")
    op.drop_table("envelope_templates")
    op.drop_table("platform_signing_keys")
