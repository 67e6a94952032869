"""documents: blobs, folders, documents and their versions, retention, legal holds; the
approvals of document reviews; the firm's document settings and business hours; the
invoice's PDF document

Revision ID: 0018
Revises: 0017
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "firmflow_app"
SYSTEM_ROLE = "firmflow_system"
TENANT_TABLES = (
    "document_blobs",
    "document_folders",
    "documents",
    "document_versions",
    "document_retention_policies",
    "document_legal_holds",
    "document_retention_candidates",
    "document_deletions",
)


def upgrade() -> None:
    op.create_table(
        "document_blobs",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content_type", sa.String(length=127), nullable=False),
        sa.Column("storage_key", sa.String(length=512), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("firm_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("size >= 0", name=op.f("ck_document_blobs_size_not_negative")),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["firms.id"],
            name=op.f("fk_document_blobs_firm_id_firms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_blobs")),
        sa.UniqueConstraint("firm_id", "sha256", name=op.f("uq_document_blobs_firm_id_sha256")),
    )
    op.create_index(op.f("ix_document_blobs_firm_id"), "document_blobs", ["firm_id"], unique=False)
    op.create_table(
        "document_deletions",
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("document_type", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=True),
        sa.Column("policy_id", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("versions", sa.Integer(), nullable=False),
        sa.Column("blobs_deleted", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("sweep_id", sa.String(length=200), nullable=False),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "deleted_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("firm_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["firms.id"],
            name=op.f("fk_document_deletions_firm_id_firms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_deletions")),
    )
    op.create_index(
        op.f("ix_document_deletions_firm_id"), "document_deletions", ["firm_id"], unique=False
    )
    op.create_index(
        "ix_document_deletions_firm_id_deleted_at_id",
        "document_deletions",
        ["firm_id", "deleted_at", "id"],
        unique=False,
    )
    op.create_table(
        "document_retention_policies",
        sa.Column("document_type", sa.String(length=64), nullable=False),
        sa.Column("trigger", sa.String(length=20), nullable=False),
        sa.Column("retain_days", sa.Integer(), nullable=False),
        sa.Column("grace_days", sa.Integer(), server_default=sa.text("30"), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
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
            "trigger IN ('created', 'client_archived')",
            name=op.f("ck_document_retention_policies_trigger_known"),
        ),
        sa.CheckConstraint(
            "grace_days >= 0", name=op.f("ck_document_retention_policies_grace_days_not_negative")
        ),
        sa.CheckConstraint(
            "retain_days >= 1", name=op.f("ck_document_retention_policies_retain_days_positive")
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["firms.id"],
            name=op.f("fk_document_retention_policies_firm_id_firms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_retention_policies")),
        sa.UniqueConstraint(
            "firm_id",
            "document_type",
            name=op.f("uq_document_retention_policies_firm_id_document_type"),
        ),
    )
    op.create_index(
        op.f("ix_document_retention_policies_firm_id"),
        "document_retention_policies",
        ["firm_id"],
        unique=False,
    )
    op.create_table(
        "document_folders",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("parent_id", sa.Uuid(), nullable=True),
        sa.Column("client_id", sa.Uuid(), nullable=True),
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
            ["client_id"], ["clients.id"], name=op.f("fk_document_folders_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["firms.id"],
            name=op.f("fk_document_folders_firm_id_firms"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["document_folders.id"],
            name=op.f("fk_document_folders_parent_id_document_folders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_folders")),
    )
    op.create_index(
        op.f("ix_document_folders_firm_id"), "document_folders", ["firm_id"], unique=False
    )
    op.create_index(
        "uq_document_folders_firm_id_parent_id_client_id_name",
        "document_folders",
        ["firm_id", "parent_id", "client_id", "name"],
        unique=True,
        postgresql_nulls_not_distinct=True,
    )
    op.create_table(
        "documents",
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("document_type", sa.String(length=64), nullable=False),
        sa.Column(
            "tags",
            postgresql.ARRAY(sa.String(length=50)),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("client_id", sa.Uuid(), nullable=True),
        sa.Column("folder_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("current_version_id", sa.Uuid(), nullable=True),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column(
            "reviewer_roles",
            postgresql.ARRAY(sa.String(length=20)),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column(
            "reviewer_user_ids",
            postgresql.ARRAY(sa.Uuid()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("review_quorum", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_by", sa.Uuid(), nullable=True),
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
            "status IN ('draft', 'in_review', 'approved', 'published')",
            name=op.f("ck_documents_status_known"),
        ),
        sa.CheckConstraint("review_quorum >= 1", name=op.f("ck_documents_review_quorum_positive")),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_documents_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_documents_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["deleted_by"],
            ["users.id"],
            name=op.f("fk_documents_deleted_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.id"], name=op.f("fk_documents_firm_id_firms"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["folder_id"],
            ["document_folders.id"],
            name=op.f("fk_documents_folder_id_document_folders"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_documents_owner_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
    )
    op.create_index(op.f("ix_documents_firm_id"), "documents", ["firm_id"], unique=False)
    op.create_index(
        "ix_documents_firm_id_client_id_created_at_id",
        "documents",
        ["firm_id", "client_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_documents_firm_id_created_at_id",
        "documents",
        ["firm_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_documents_firm_id_deleted_at",
        "documents",
        ["firm_id", "deleted_at"],
        unique=False,
        postgresql_where=sa.text("deleted_at IS NOT NULL"),
    )
    op.create_index(
        "ix_documents_firm_id_document_type_created_at_id",
        "documents",
        ["firm_id", "document_type", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_documents_firm_id_folder_id_created_at_id",
        "documents",
        ["firm_id", "folder_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_documents_firm_id_status_created_at_id",
        "documents",
        ["firm_id", "status", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_documents_tags", "documents", ["tags"], unique=False, postgresql_using="gin"
    )
    op.create_table(
        "document_legal_holds",
        sa.Column("document_id", sa.Uuid(), nullable=True),
        sa.Column("client_id", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("placed_by", sa.Uuid(), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_by", sa.Uuid(), nullable=True),
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
            "(document_id IS NULL) <> (client_id IS NULL)",
            name=op.f("ck_document_legal_holds_one_subject"),
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_document_legal_holds_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_document_legal_holds_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["firms.id"],
            name=op.f("fk_document_legal_holds_firm_id_firms"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["placed_by"],
            ["users.id"],
            name=op.f("fk_document_legal_holds_placed_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["released_by"],
            ["users.id"],
            name=op.f("fk_document_legal_holds_released_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_legal_holds")),
    )
    op.create_index(
        "ix_document_legal_holds_active_client",
        "document_legal_holds",
        ["firm_id", "client_id"],
        unique=False,
        postgresql_where=sa.text("released_at IS NULL AND client_id IS NOT NULL"),
    )
    op.create_index(
        "ix_document_legal_holds_active_document",
        "document_legal_holds",
        ["firm_id", "document_id"],
        unique=False,
        postgresql_where=sa.text("released_at IS NULL AND document_id IS NOT NULL"),
    )
    op.create_index(
        op.f("ix_document_legal_holds_firm_id"), "document_legal_holds", ["firm_id"], unique=False
    )
    op.create_index(
        "ix_document_legal_holds_firm_id_created_at_id",
        "document_legal_holds",
        ["firm_id", "created_at", "id"],
        unique=False,
    )
    op.create_table(
        "document_retention_candidates",
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("policy_id", sa.Uuid(), nullable=True),
        sa.Column(
            "reported_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.Column("delete_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("firm_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_document_retention_candidates_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["firms.id"],
            name=op.f("fk_document_retention_candidates_firm_id_firms"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["policy_id"],
            ["document_retention_policies.id"],
            name=op.f("fk_document_retention_candidates_policy_id_document_retention_policies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_retention_candidates")),
        sa.UniqueConstraint(
            "firm_id",
            "document_id",
            name=op.f("uq_document_retention_candidates_firm_id_document_id"),
        ),
    )
    op.create_index(
        op.f("ix_document_retention_candidates_firm_id"),
        "document_retention_candidates",
        ["firm_id"],
        unique=False,
    )
    op.create_table(
        "document_versions",
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("blob_id", sa.Uuid(), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content_type", sa.String(length=127), nullable=False),
        sa.Column("uploaded_by", sa.Uuid(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("restored_from_id", sa.Uuid(), nullable=True),
        sa.Column("text_status", sa.String(length=12), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=True),
        sa.Column(
            "search_config",
            sa.String(length=64),
            server_default=sa.text("'simple'"),
            nullable=False,
        ),
        sa.Column("search", postgresql.TSVECTOR(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("firm_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "text_status IN ('pending', 'extracted', 'no_text', 'unsupported', 'failed')",
            name=op.f("ck_document_versions_text_status_known"),
        ),
        sa.CheckConstraint("number >= 1", name=op.f("ck_document_versions_number_positive")),
        sa.ForeignKeyConstraint(
            ["blob_id"],
            ["document_blobs.id"],
            name=op.f("fk_document_versions_blob_id_document_blobs"),
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["documents.id"],
            name=op.f("fk_document_versions_document_id_documents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["firms.id"],
            name=op.f("fk_document_versions_firm_id_firms"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["restored_from_id"],
            ["document_versions.id"],
            name=op.f("fk_document_versions_restored_from_id_document_versions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by"],
            ["users.id"],
            name=op.f("fk_document_versions_uploaded_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_versions")),
        sa.UniqueConstraint(
            "document_id", "number", name=op.f("uq_document_versions_document_id_number")
        ),
    )
    op.create_index(
        op.f("ix_document_versions_firm_id"), "document_versions", ["firm_id"], unique=False
    )
    op.create_index(
        "ix_document_versions_firm_id_blob_id",
        "document_versions",
        ["firm_id", "blob_id"],
        unique=False,
    )
    op.create_index(
        "ix_document_versions_search",
        "document_versions",
        ["search"],
        unique=False,
        postgresql_using="gin",
    )
    op.add_column(
        "automation_approvals", sa.Column("document_version_id", sa.Uuid(), nullable=True)
    )
    op.alter_column("automation_approvals", "run_id", existing_type=sa.UUID(), nullable=True)
    op.alter_column("automation_approvals", "automation_id", existing_type=sa.UUID(), nullable=True)
    op.alter_column(
        "automation_approvals", "step_id", existing_type=sa.VARCHAR(length=64), nullable=True
    )
    op.alter_column("automation_approvals", "visit", existing_type=sa.INTEGER(), nullable=True)
    op.create_index(
        "ix_automation_approvals_firm_id_document_version_id",
        "automation_approvals",
        ["firm_id", "document_version_id"],
        unique=False,
    )
    op.create_foreign_key(
        op.f("fk_automation_approvals_document_version_id_document_versions"),
        "automation_approvals",
        "document_versions",
        ["document_version_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.add_column(
        "firms",
        sa.Column(
            "documents_quota_bytes",
            sa.BigInteger(),
            server_default=sa.text("53687091200"),
            nullable=False,
        ),
    )
    op.add_column(
        "firms",
        sa.Column(
            "upload_limit_bytes",
            sa.BigInteger(),
            server_default=sa.text("1073741824"),
            nullable=False,
        ),
    )
    op.add_column(
        "firms",
        sa.Column(
            "allowed_upload_types",
            postgresql.ARRAY(sa.String(length=127)),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
    )
    op.add_column(
        "firms",
        sa.Column(
            "search_config",
            sa.String(length=64),
            server_default=sa.text("'english'"),
            nullable=False,
        ),
    )
    op.add_column(
        "firms",
        sa.Column(
            "business_days",
            postgresql.ARRAY(sa.SmallInteger()),
            server_default=sa.text("'{1,2,3,4,5}'"),
            nullable=False,
        ),
    )
    op.add_column(
        "firms",
        sa.Column("business_start", sa.Time(), server_default=sa.text("'09:00'"), nullable=False),
    )
    op.add_column(
        "firms",
        sa.Column("business_end", sa.Time(), server_default=sa.text("'17:00'"), nullable=False),
    )
    op.add_column("invoices", sa.Column("document_id", sa.Uuid(), nullable=True))
    op.create_foreign_key(
        op.f("fk_invoices_document_id_documents"),
        "invoices",
        "documents",
        ["document_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_foreign_key(
        op.f("fk_documents_current_version_id_document_versions"),
        "documents",
        "document_versions",
        ["current_version_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_check_constraint(
        op.f("ck_automation_approvals_one_subject"),
        "automation_approvals",
        "(run_id IS NOT NULL AND automation_id IS NOT NULL AND step_id IS NOT NULL "
        "AND visit IS NOT NULL AND document_version_id IS NULL) OR "
        "(run_id IS NULL AND automation_id IS NULL AND step_id IS NULL AND visit IS NULL "
        "AND document_version_id IS NOT NULL)",
    )
    for table in TENANT_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY firm_isolation ON {table} "
            "USING (firm_id = current_setting('app.firm_id', true)::uuid)"
        )
        for role in (APP_ROLE, SYSTEM_ROLE):
            op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {role}")


def downgrade() -> None:
    op.execute("DELETE FROM automation_approvals WHERE document_version_id IS NOT NULL")
    op.drop_constraint(
        op.f("ck_automation_approvals_one_subject"), "automation_approvals", type_="check"
    )
    op.drop_constraint(
        op.f("fk_documents_current_version_id_document_versions"),
        "documents",
        type_="foreignkey",
    )
    op.drop_constraint(op.f("fk_invoices_document_id_documents"), "invoices", type_="foreignkey")
    op.drop_column("invoices", "document_id")
    op.drop_column("firms", "business_end")
    op.drop_column("firms", "business_start")
    op.drop_column("firms", "business_days")
    op.drop_column("firms", "search_config")
    op.drop_column("firms", "allowed_upload_types")
    op.drop_column("firms", "upload_limit_bytes")
    op.drop_column("firms", "documents_quota_bytes")
    op.drop_constraint(
        op.f("fk_automation_approvals_document_version_id_document_versions"),
        "automation_approvals",
        type_="foreignkey",
    )
    op.drop_index(
        "ix_automation_approvals_firm_id_document_version_id", table_name="automation_approvals"
    )
    op.alter_column("automation_approvals", "visit", existing_type=sa.INTEGER(), nullable=False)
    op.alter_column(
        "automation_approvals", "step_id", existing_type=sa.VARCHAR(length=64), nullable=False
    )
    op.alter_column(
        "automation_approvals", "automation_id", existing_type=sa.UUID(), nullable=False
    )
    op.alter_column("automation_approvals", "run_id", existing_type=sa.UUID(), nullable=False)
    op.drop_column("automation_approvals", "document_version_id")
    op.drop_index(
        "ix_document_versions_search", table_name="document_versions", postgresql_using="gin"
    )
    op.drop_index("ix_document_versions_firm_id_blob_id", table_name="document_versions")
    op.drop_index(op.f("ix_document_versions_firm_id"), table_name="document_versions")
    op.drop_table("document_versions")
    op.drop_index(
        op.f("ix_document_retention_candidates_firm_id"), table_name="document_retention_candidates"
    )
    op.drop_table("document_retention_candidates")
    op.drop_index(
        "ix_document_legal_holds_firm_id_created_at_id", table_name="document_legal_holds"
    )
    op.drop_index(op.f("ix_document_legal_holds_firm_id"), table_name="document_legal_holds")
    op.drop_index(
        "ix_document_legal_holds_active_document",
        table_name="document_legal_holds",
        postgresql_where=sa.text("released_at IS NULL AND document_id IS NOT NULL"),
    )
    op.drop_index(
        "ix_document_legal_holds_active_client",
        table_name="document_legal_holds",
        postgresql_where=sa.text("released_at IS NULL AND client_id IS NOT NULL"),
    )
    op.drop_table("document_legal_holds")
    op.drop_index("ix_documents_tags", table_name="documents", postgresql_using="gin")
    op.drop_index("ix_documents_firm_id_status_created_at_id", table_name="documents")
    op.drop_index("ix_documents_firm_id_folder_id_created_at_id", table_name="documents")
    op.drop_index("ix_documents_firm_id_document_type_created_at_id", table_name="documents")
    op.drop_index(
        "ix_documents_firm_id_deleted_at",
        table_name="documents",
        postgresql_where=sa.text("deleted_at IS NOT NULL"),
    )
    op.drop_index("ix_documents_firm_id_created_at_id", table_name="documents")
    op.drop_index("ix_documents_firm_id_client_id_created_at_id", table_name="documents")
    op.drop_index(op.f("ix_documents_firm_id"), table_name="documents")
    op.drop_table("documents")
    op.drop_index(
        "uq_document_folders_firm_id_parent_id_client_id_name",
        table_name="document_folders",
        postgresql_nulls_not_distinct=True,
    )
    op.drop_index(op.f("ix_document_folders_firm_id"), table_name="document_folders")
    op.drop_table("document_folders")
    op.drop_index(
        op.f("ix_document_retention_policies_firm_id"), table_name="document_retention_policies"
    )
    op.drop_table("document_retention_policies")
    op.drop_index("ix_document_deletions_firm_id_deleted_at_id", table_name="document_deletions")
    op.drop_index(op.f("ix_document_deletions_firm_id"), table_name="document_deletions")
    op.drop_table("document_deletions")
    op.drop_index(op.f("ix_document_blobs_firm_id"), table_name="document_blobs")
    op.drop_table("document_blobs")
