"""Stripe events apply in any order: card disputes of payments (``payment_disputes``, with
the client credit they hold), and Stripe events that wait for their payment
(``stripe_events.waits_for``, status ``waiting``)

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RUNTIME_ROLES = ("firmflow_app", "firmflow_system")

_OLD_STATUSES = "status IN ('pending', 'processed', 'ignored', 'failed')"
_NEW_STATUSES = "status IN ('pending', 'waiting', 'processed', 'ignored', 'failed')"


def upgrade() -> None:
    op.create_table(
        "payment_disputes",
        sa.Column("payment_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("dispute_ref", sa.String(length=255), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("reason", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("provider_status", sa.String(length=40), nullable=False),
        sa.Column("provider_status_at", sa.BigInteger(), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("frozen_credit", sa.BigInteger(), nullable=False),
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
            "status IN ('open', 'won', 'lost')", name=op.f("ck_payment_disputes_status_known")
        ),
        sa.CheckConstraint(
            "amount >= 0 AND frozen_credit >= 0",
            name=op.f("ck_payment_disputes_amounts_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_payment_disputes_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["firms.id"],
            name=op.f("fk_payment_disputes_firm_id_firms"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_payment_disputes_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_disputes")),
    )
    op.create_index(
        op.f("ix_payment_disputes_firm_id"), "payment_disputes", ["firm_id"], unique=False
    )
    op.create_index(
        "ix_payment_disputes_firm_id_payment_id",
        "payment_disputes",
        ["firm_id", "payment_id"],
        unique=False,
    )
    op.create_index(
        "uq_payment_disputes_firm_id_provider_dispute_ref",
        "payment_disputes",
        ["firm_id", "provider", "dispute_ref"],
        unique=True,
    )
    op.execute("ALTER TABLE payment_disputes ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE payment_disputes FORCE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY firm_isolation ON payment_disputes "
        "USING (firm_id = current_setting('app.firm_id', true)::uuid)"
    )
    for role in RUNTIME_ROLES:
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON payment_disputes TO {role}")

    op.add_column("stripe_events", sa.Column("waits_for", sa.String(length=255), nullable=True))
    op.drop_constraint(op.f("ck_stripe_events_status_known"), "stripe_events", type_="check")
    op.create_check_constraint(
        op.f("ck_stripe_events_status_known"), "stripe_events", _NEW_STATUSES
    )
    op.create_index(
        "ix_stripe_events_waiting",
        "stripe_events",
        ["firm_id", "waits_for"],
        unique=False,
        postgresql_where=sa.text("status = 'waiting'"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_stripe_events_waiting",
        table_name="stripe_events",
        postgresql_where=sa.text("status = 'waiting'"),
    )
    # A waiting event goes back to pending: the old code refuses nothing it stored.
    op.execute("UPDATE stripe_events SET status = 'pending' WHERE status = 'waiting'")
    op.drop_constraint(op.f("ck_stripe_events_status_known"), "stripe_events", type_="check")
    op.create_check_constraint(
        op.f("ck_stripe_events_status_known"), "stripe_events", _OLD_STATUSES
    )
    op.drop_column("stripe_events", "waits_for")
    op.drop_table("payment_disputes")
