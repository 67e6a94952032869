"""billing: invoices, tax rates, numbering, payments, client credit, saved payment methods,
Stripe events and secrets, dunning policies and reminders, recurring invoices

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APP_ROLE = "firmflow_app"
SYSTEM_ROLE = "firmflow_system"

FIRM_CLIENTS = "SELECT * FROM clients WHERE firm_id = current_setting('app.firm_id', true)::uuid"

TENANT_TABLES = (
    "billing_settings",
    "tax_rates",
    "invoice_number_sequences",
    "recurring_invoices",
    "invoices",
    "invoice_lines",
    "payments",
    "client_credits",
    "saved_payment_methods",
    "stripe_events",
    "stripe_webhook_secrets",
    "dunning_policies",
    "dunning_reminders",
)


def upgrade() -> None:
    op.create_table(
        "billing_settings",
        sa.Column("invoice_number_prefix", sa.String(length=40), nullable=False),
        sa.Column("credit_note_number_prefix", sa.String(length=40), nullable=False),
        sa.Column("invoice_number_digits", sa.SmallInteger(), nullable=False),
        sa.Column("default_payment_terms_days", sa.Integer(), nullable=False),
        sa.Column("invoice_template", sa.Text(), nullable=True),
        sa.Column("business_hours_start", sa.SmallInteger(), nullable=False),
        sa.Column("business_hours_end", sa.SmallInteger(), nullable=False),
        sa.Column("business_days", postgresql.ARRAY(sa.SmallInteger()), nullable=False),
        sa.Column("stripe_secret_key_encrypted", sa.Text(), nullable=True),
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
            "business_hours_start >= 0 AND business_hours_end <= 24"
            " AND business_hours_start < business_hours_end",
            name=op.f("ck_billing_settings_business_hours_order"),
        ),
        sa.CheckConstraint(
            "default_payment_terms_days BETWEEN 0 AND 365",
            name=op.f("ck_billing_settings_terms_range"),
        ),
        sa.CheckConstraint(
            "invoice_number_digits BETWEEN 1 AND 12", name=op.f("ck_billing_settings_digits_range")
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["firms.id"],
            name=op.f("fk_billing_settings_firm_id_firms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_settings")),
        sa.UniqueConstraint("firm_id", name=op.f("uq_billing_settings_firm_id")),
    )
    op.create_index(
        op.f("ix_billing_settings_firm_id"), "billing_settings", ["firm_id"], unique=False
    )
    op.create_table(
        "dunning_policies",
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("steps", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("late_fee_fixed", sa.BigInteger(), nullable=False),
        sa.Column("late_fee_percent", sa.Numeric(precision=7, scale=4), nullable=False),
        sa.Column("late_fee_step", sa.String(length=40), nullable=True),
        sa.Column("endless_every_days", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
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
            "endless_every_days IS NULL OR endless_every_days >= 1",
            name=op.f("ck_dunning_policies_endless_positive"),
        ),
        sa.CheckConstraint(
            "late_fee_fixed >= 0", name=op.f("ck_dunning_policies_late_fee_fixed_not_negative")
        ),
        sa.CheckConstraint(
            "late_fee_percent >= 0 AND late_fee_percent <= 100",
            name=op.f("ck_dunning_policies_late_fee_percent_range"),
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["firms.id"],
            name=op.f("fk_dunning_policies_firm_id_firms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dunning_policies")),
        sa.UniqueConstraint("firm_id", name=op.f("uq_dunning_policies_firm_id")),
    )
    op.create_index(
        op.f("ix_dunning_policies_firm_id"), "dunning_policies", ["firm_id"], unique=False
    )
    op.create_table(
        "invoice_number_sequences",
        sa.Column("prefix", sa.String(length=60), nullable=False),
        sa.Column("last_value", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("firm_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["firms.id"],
            name=op.f("fk_invoice_number_sequences_firm_id_firms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_number_sequences")),
        sa.UniqueConstraint(
            "firm_id", "prefix", name=op.f("uq_invoice_number_sequences_firm_id_prefix")
        ),
    )
    op.create_index(
        op.f("ix_invoice_number_sequences_firm_id"),
        "invoice_number_sequences",
        ["firm_id"],
        unique=False,
    )
    op.create_table(
        "stripe_events",
        sa.Column("event_id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("stripe_created", sa.BigInteger(), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=500), nullable=True),
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
            "status IN ('pending', 'processed', 'ignored', 'failed')",
            name=op.f("ck_stripe_events_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["firms.id"],
            name=op.f("fk_stripe_events_firm_id_firms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stripe_events")),
        sa.UniqueConstraint("firm_id", "event_id", name=op.f("uq_stripe_events_firm_id_event_id")),
    )
    op.create_index(op.f("ix_stripe_events_firm_id"), "stripe_events", ["firm_id"], unique=False)
    op.create_index(
        "ix_stripe_events_pending",
        "stripe_events",
        ["firm_id", "created_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_table(
        "stripe_webhook_secrets",
        sa.Column("secret_encrypted", sa.Text(), nullable=False),
        sa.Column("hint", sa.String(length=8), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
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
            ["firm_id"],
            ["firms.id"],
            name=op.f("fk_stripe_webhook_secrets_firm_id_firms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stripe_webhook_secrets")),
    )
    op.create_index(
        op.f("ix_stripe_webhook_secrets_firm_id"),
        "stripe_webhook_secrets",
        ["firm_id"],
        unique=False,
    )
    op.create_table(
        "tax_rates",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("percent", sa.Numeric(precision=7, scale=4), nullable=False),
        sa.Column("inclusive", sa.Boolean(), nullable=False),
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
        sa.CheckConstraint(
            "percent >= 0 AND percent <= 100", name=op.f("ck_tax_rates_percent_range")
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.id"], name=op.f("fk_tax_rates_firm_id_firms"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tax_rates")),
    )
    op.create_index(op.f("ix_tax_rates_firm_id"), "tax_rates", ["firm_id"], unique=False)
    op.create_index(
        "ix_tax_rates_firm_id_created_at_id",
        "tax_rates",
        ["firm_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "uq_tax_rates_firm_id_name",
        "tax_rates",
        ["firm_id", "name"],
        unique=True,
        postgresql_where=sa.text("archived_at IS NULL"),
    )
    op.create_table(
        "saved_payment_methods",
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("customer_ref", sa.String(length=255), nullable=False),
        sa.Column("method_ref", sa.String(length=255), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=True),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("detached_at", sa.DateTime(timezone=True), nullable=True),
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
            ["client_id"], ["clients.id"], name=op.f("fk_saved_payment_methods_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["firms.id"],
            name=op.f("fk_saved_payment_methods_firm_id_firms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_payment_methods")),
    )
    op.create_index(
        op.f("ix_saved_payment_methods_firm_id"), "saved_payment_methods", ["firm_id"], unique=False
    )
    op.create_index(
        "ix_saved_payment_methods_firm_id_client_id",
        "saved_payment_methods",
        ["firm_id", "client_id"],
        unique=False,
    )
    op.create_index(
        "uq_saved_payment_methods_firm_id_provider_method_ref",
        "saved_payment_methods",
        ["firm_id", "provider", "method_ref"],
        unique=True,
    )
    op.create_table(
        "recurring_invoices",
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("template", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("rrule", sa.String(length=500), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("starts_at_local", sa.DateTime(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("count", sa.Integer(), nullable=True),
        sa.Column("auto_send", sa.Boolean(), nullable=False),
        sa.Column("last_occurrence_date", sa.Date(), nullable=True),
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
            "currency ~ '^[A-Z]{3}$'", name=op.f("ck_recurring_invoices_currency_format")
        ),
        sa.CheckConstraint(
            "status IN ('active', 'paused', 'ended')",
            name=op.f("ck_recurring_invoices_status_known"),
        ),
        sa.CheckConstraint(
            "count IS NULL OR count >= 1", name=op.f("ck_recurring_invoices_count_positive")
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_recurring_invoices_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_recurring_invoices_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["firms.id"],
            name=op.f("fk_recurring_invoices_firm_id_firms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recurring_invoices")),
    )
    op.create_index(
        op.f("ix_recurring_invoices_firm_id"), "recurring_invoices", ["firm_id"], unique=False
    )
    op.create_index(
        "ix_recurring_invoices_firm_id_created_at_id",
        "recurring_invoices",
        ["firm_id", "created_at", "id"],
        unique=False,
    )
    op.create_table(
        "invoices",
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("credited_invoice_id", sa.Uuid(), nullable=True),
        sa.Column("number", sa.String(length=60), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("in_collections", sa.Boolean(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("issue_date", sa.Date(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("payment_terms_days", sa.Integer(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("discount_kind", sa.String(length=8), nullable=True),
        sa.Column("discount_value", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("subtotal", sa.BigInteger(), nullable=False),
        sa.Column("discount_total", sa.BigInteger(), nullable=False),
        sa.Column("tax_total", sa.BigInteger(), nullable=False),
        sa.Column("tax_exclusive_total", sa.BigInteger(), nullable=False),
        sa.Column("late_fee", sa.BigInteger(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("amount_paid", sa.BigInteger(), nullable=False),
        sa.Column("amount_credited", sa.BigInteger(), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("tax_breakdown", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("late_fee_applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dunning_paused", sa.Boolean(), nullable=False),
        sa.Column("recurring_invoice_id", sa.Uuid(), nullable=True),
        sa.Column("occurrence_date", sa.Date(), nullable=True),
        sa.Column("finalized_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("uncollectible_at", sa.DateTime(timezone=True), nullable=True),
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
            "(kind = 'credit_note') = (credited_invoice_id IS NOT NULL)",
            name=op.f("ck_invoices_credit_note_has_invoice"),
        ),
        sa.CheckConstraint(
            "(number IS NULL) = (status = 'draft')", name=op.f("ck_invoices_numbered_when_final")
        ),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f("ck_invoices_currency_format")),
        sa.CheckConstraint(
            "discount_kind IS NULL OR discount_kind IN ('percent', 'amount')",
            name=op.f("ck_invoices_discount_kind_known"),
        ),
        sa.CheckConstraint(
            "kind = 'credit_note' OR balance >= 0", name=op.f("ck_invoices_balance_not_negative")
        ),
        sa.CheckConstraint(
            "kind IN ('invoice', 'credit_note')", name=op.f("ck_invoices_kind_known")
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'open', 'partially_paid', 'paid', 'void', 'uncollectible')",
            name=op.f("ck_invoices_status_known"),
        ),
        sa.CheckConstraint(
            "balance = total - amount_paid - amount_credited",
            name=op.f("ck_invoices_balance_is_rest"),
        ),
        sa.CheckConstraint("discount_value >= 0", name=op.f("ck_invoices_discount_not_negative")),
        sa.CheckConstraint(
            "subtotal >= 0 AND discount_total >= 0 AND tax_total >= 0"
            " AND late_fee >= 0 AND amount_paid >= 0 AND amount_credited >= 0",
            name=op.f("ck_invoices_amounts_not_negative"),
        ),
        sa.CheckConstraint(
            "tax_exclusive_total <= tax_total", name=op.f("ck_invoices_exclusive_tax_within_tax")
        ),
        sa.CheckConstraint(
            "total = subtotal - discount_total + tax_exclusive_total + late_fee",
            name=op.f("ck_invoices_total_is_sum"),
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_invoices_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_invoices_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["credited_invoice_id"],
            ["invoices.id"],
            name=op.f("fk_invoices_credited_invoice_id_invoices"),
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.id"], name=op.f("fk_invoices_firm_id_firms"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["recurring_invoice_id"],
            ["recurring_invoices.id"],
            name=op.f("fk_invoices_recurring_invoice_id_recurring_invoices"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoices")),
        sa.UniqueConstraint("firm_id", "number", name=op.f("uq_invoices_firm_id_number")),
        sa.UniqueConstraint(
            "recurring_invoice_id",
            "occurrence_date",
            name=op.f("uq_invoices_recurring_invoice_id_occurrence_date"),
        ),
    )
    op.create_index(op.f("ix_invoices_firm_id"), "invoices", ["firm_id"], unique=False)
    op.create_index(
        "ix_invoices_firm_id_client_id_created_at_id",
        "invoices",
        ["firm_id", "client_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_invoices_firm_id_kind_created_at_id",
        "invoices",
        ["firm_id", "kind", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_invoices_firm_id_created_at_id",
        "invoices",
        ["firm_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_invoices_firm_id_issue_date",
        "invoices",
        ["firm_id", "issue_date"],
        unique=False,
        postgresql_where=sa.text("status <> 'draft'"),
    )
    op.create_index(
        "ix_invoices_firm_id_status_created_at_id",
        "invoices",
        ["firm_id", "status", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_invoices_receivable",
        "invoices",
        ["firm_id", "due_date"],
        unique=False,
        postgresql_where=sa.text("status IN ('open', 'partially_paid') AND kind = 'invoice'"),
    )
    op.create_table(
        "dunning_reminders",
        sa.Column("invoice_id", sa.Uuid(), nullable=False),
        sa.Column("step_key", sa.String(length=60), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=True),
        sa.Column("recipient", sa.String(length=320), nullable=True),
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
            name=op.f("fk_dunning_reminders_firm_id_firms"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_dunning_reminders_invoice_id_invoices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dunning_reminders")),
        sa.UniqueConstraint(
            "invoice_id", "step_key", name=op.f("uq_dunning_reminders_invoice_id_step_key")
        ),
    )
    op.create_index(
        op.f("ix_dunning_reminders_firm_id"), "dunning_reminders", ["firm_id"], unique=False
    )
    op.create_index(
        "ix_dunning_reminders_firm_id_invoice_id",
        "dunning_reminders",
        ["firm_id", "invoice_id"],
        unique=False,
    )
    op.create_table(
        "invoice_lines",
        sa.Column("invoice_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=18, scale=4), nullable=False),
        sa.Column("unit_price", sa.BigInteger(), nullable=False),
        sa.Column("taxes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("discount_amount", sa.BigInteger(), nullable=False),
        sa.Column("tax_amount", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("firm_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "amount >= 0 AND discount_amount >= 0 AND discount_amount <= amount"
            " AND tax_amount >= 0",
            name=op.f("ck_invoice_lines_amounts_in_range"),
        ),
        sa.CheckConstraint("quantity >= 0", name=op.f("ck_invoice_lines_quantity_not_negative")),
        sa.CheckConstraint("unit_price >= 0", name=op.f("ck_invoice_lines_price_not_negative")),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["firms.id"],
            name=op.f("fk_invoice_lines_firm_id_firms"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_invoice_lines_invoice_id_invoices"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_lines")),
        sa.UniqueConstraint(
            "invoice_id", "position", name=op.f("uq_invoice_lines_invoice_id_position")
        ),
    )
    op.create_index(op.f("ix_invoice_lines_firm_id"), "invoice_lines", ["firm_id"], unique=False)
    op.create_index(
        op.f("ix_invoice_lines_invoice_id"), "invoice_lines", ["invoice_id"], unique=False
    )
    op.create_table(
        "payments",
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("invoice_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("refund_of_id", sa.Uuid(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("applied_amount", sa.BigInteger(), nullable=False),
        sa.Column("credited_amount", sa.BigInteger(), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("provider", sa.String(length=20), nullable=True),
        sa.Column("provider_ref", sa.String(length=255), nullable=True),
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
            "(kind = 'refund') = (refund_of_id IS NOT NULL)",
            name=op.f("ck_payments_refund_has_payment"),
        ),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f("ck_payments_currency_format")),
        sa.CheckConstraint("kind IN ('payment', 'refund')", name=op.f("ck_payments_kind_known")),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payments_amount_positive")),
        sa.CheckConstraint(
            "applied_amount >= 0 AND credited_amount >= 0"
            " AND applied_amount + credited_amount = amount",
            name=op.f("ck_payments_split_is_whole"),
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_payments_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_payments_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"], ["firms.id"], name=op.f("fk_payments_firm_id_firms"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_payments_invoice_id_invoices")
        ),
        sa.ForeignKeyConstraint(
            ["refund_of_id"], ["payments.id"], name=op.f("fk_payments_refund_of_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
    )
    op.create_index(op.f("ix_payments_firm_id"), "payments", ["firm_id"], unique=False)
    op.create_index(
        "ix_payments_firm_id_client_id_created_at_id",
        "payments",
        ["firm_id", "client_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_payments_firm_id_created_at_id",
        "payments",
        ["firm_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_payments_firm_id_received_on", "payments", ["firm_id", "received_on"], unique=False
    )
    op.create_index(
        "ix_payments_firm_id_invoice_id", "payments", ["firm_id", "invoice_id"], unique=False
    )
    op.create_index(
        "uq_payments_firm_id_provider_provider_ref",
        "payments",
        ["firm_id", "provider", "provider_ref"],
        unique=True,
        postgresql_where=sa.text("provider_ref IS NOT NULL"),
    )
    op.create_table(
        "client_credits",
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("payment_id", sa.Uuid(), nullable=True),
        sa.Column("invoice_id", sa.Uuid(), nullable=True),
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
            "currency ~ '^[A-Z]{3}$'", name=op.f("ck_client_credits_currency_format")
        ),
        sa.CheckConstraint("amount <> 0", name=op.f("ck_client_credits_amount_not_zero")),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_client_credits_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_client_credits_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["firms.id"],
            name=op.f("fk_client_credits_firm_id_firms"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_client_credits_invoice_id_invoices")
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_client_credits_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_client_credits")),
    )
    op.create_index(op.f("ix_client_credits_firm_id"), "client_credits", ["firm_id"], unique=False)
    op.create_index(
        "ix_client_credits_firm_id_client_id_currency",
        "client_credits",
        ["firm_id", "client_id", "currency"],
        unique=False,
    )
    op.add_column(
        "clients",
        sa.Column("dunning_paused", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    # The firm_clients view (first migration) lists the columns clients had when it was
    # made; it must show the new one too.
    op.execute(f"CREATE OR REPLACE VIEW firm_clients AS {FIRM_CLIENTS}")
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
    op.execute("DROP VIEW firm_clients")
    op.drop_column("clients", "dunning_paused")
    op.execute(f"CREATE VIEW firm_clients AS {FIRM_CLIENTS}")
    for role in (APP_ROLE, SYSTEM_ROLE):
        op.execute(f"GRANT SELECT ON firm_clients TO {role}")
    op.drop_index("ix_client_credits_firm_id_client_id_currency", table_name="client_credits")
    op.drop_index(op.f("ix_client_credits_firm_id"), table_name="client_credits")
    op.drop_table("client_credits")
    op.drop_index(
        "uq_payments_firm_id_provider_provider_ref",
        table_name="payments",
        postgresql_where=sa.text("provider_ref IS NOT NULL"),
    )
    op.drop_index("ix_payments_firm_id_invoice_id", table_name="payments")
    op.drop_index("ix_payments_firm_id_created_at_id", table_name="payments")
    op.drop_index("ix_payments_firm_id_client_id_created_at_id", table_name="payments")
    op.drop_index(op.f("ix_payments_firm_id"), table_name="payments")
    op.drop_table("payments")
    op.drop_index(op.f("ix_invoice_lines_invoice_id"), table_name="invoice_lines")
    op.drop_index(op.f("ix_invoice_lines_firm_id"), table_name="invoice_lines")
    op.drop_table("invoice_lines")
    op.drop_index("ix_dunning_reminders_firm_id_invoice_id", table_name="dunning_reminders")
    op.drop_index(op.f("ix_dunning_reminders_firm_id"), table_name="dunning_reminders")
    op.drop_table("dunning_reminders")
    op.drop_index(
        "ix_invoices_receivable",
        table_name="invoices",
        postgresql_where=sa.text("status IN ('open', 'partially_paid') AND kind = 'invoice'"),
    )
    op.drop_index("ix_invoices_firm_id_status_created_at_id", table_name="invoices")
    op.drop_index(
        "ix_invoices_firm_id_issue_date",
        table_name="invoices",
        postgresql_where=sa.text("status <> 'draft'"),
    )
    op.drop_index("ix_invoices_firm_id_created_at_id", table_name="invoices")
    op.drop_index("ix_invoices_firm_id_client_id_created_at_id", table_name="invoices")
    op.drop_index(op.f("ix_invoices_firm_id"), table_name="invoices")
    op.drop_table("invoices")
    op.drop_index("ix_recurring_invoices_firm_id_created_at_id", table_name="recurring_invoices")
    op.drop_index(op.f("ix_recurring_invoices_firm_id"), table_name="recurring_invoices")
    op.drop_table("recurring_invoices")
    op.drop_index(
        "uq_saved_payment_methods_firm_id_provider_method_ref", table_name="saved_payment_methods"
    )
    op.drop_index("ix_saved_payment_methods_firm_id_client_id", table_name="saved_payment_methods")
    op.drop_index(op.f("ix_saved_payment_methods_firm_id"), table_name="saved_payment_methods")
    op.drop_table("saved_payment_methods")
    op.drop_index(
        "uq_tax_rates_firm_id_name",
        table_name="tax_rates",
        postgresql_where=sa.text("archived_at IS NULL"),
    )
    op.drop_index("ix_tax_rates_firm_id_created_at_id", table_name="tax_rates")
    op.drop_index(op.f("ix_tax_rates_firm_id"), table_name="tax_rates")
    op.drop_table("tax_rates")
    op.drop_index(op.f("ix_stripe_webhook_secrets_firm_id"), table_name="stripe_webhook_secrets")
    op.drop_table("stripe_webhook_secrets")
    op.drop_index(
        "ix_stripe_events_pending",
        table_name="stripe_events",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_index(op.f("ix_stripe_events_firm_id"), table_name="stripe_events")
    op.drop_table("stripe_events")
    op.drop_index(
        op.f("ix_invoice_number_sequences_firm_id"), table_name="invoice_number_sequences"
    )
    op.drop_table("invoice_number_sequences")
    op.drop_index(op.f("ix_dunning_policies_firm_id"), table_name="dunning_policies")
    op.drop_table("dunning_policies")
    op.drop_index(op.f("ix_billing_settings_firm_id"), table_name="billing_settings")
    op.drop_table("billing_settings")
