"""invoices carry what the law requires and owe nothing once void

Billing settings gain the seller's legal details every invoice prints (EU directive
2006/112/EC art. 226): legal name, address, country, VAT id or tax number, IBAN and BIC.
Invoices gain ``bill_to``, the client's name, address and VAT id fixed at finalize (null
on invoices issued before: they show the client as it is now).

A void invoice's balance is 0 (services.billing.invoice_status.balance_due): the check
constraint ``ck_invoices_balance_is_rest`` now says so, after the balances of invoices
voided before this change are set to 0.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BALANCE_RULE = "ck_invoices_balance_is_rest"
SELLER_COLUMNS = (
    ("seller_legal_name", 200),
    ("seller_address_line1", 200),
    ("seller_address_line2", 200),
    ("seller_postal_code", 20),
    ("seller_city", 100),
    ("seller_country", 2),
    ("seller_vat_id", 30),
    ("seller_tax_number", 40),
    ("seller_iban", 34),
    ("seller_bic", 11),
)


VOID_OWES_NOTHING = "UPDATE invoices SET balance = 0 WHERE status = 'void'"
VOID_OWES_REST = (
    "UPDATE invoices SET balance = total - amount_paid - amount_credited WHERE status = 'void'"
)


def _fix_every_firm(statement: str) -> None:
    # Row-level security is forced even on the owner; a data fix spans every firm.
    op.execute("ALTER TABLE invoices NO FORCE ROW LEVEL SECURITY")
    op.execute(statement)
    op.execute("ALTER TABLE invoices FORCE ROW LEVEL SECURITY")


def upgrade() -> None:
    for name, length in SELLER_COLUMNS:
        op.add_column("billing_settings", sa.Column(name, sa.String(length), nullable=True))
    op.add_column("invoices", sa.Column("bill_to", postgresql.JSONB(), nullable=True))
    op.drop_constraint(op.f(BALANCE_RULE), "invoices", type_="check")
    _fix_every_firm(VOID_OWES_NOTHING)
    op.create_check_constraint(
        op.f(BALANCE_RULE),
        "invoices",
        "balance = CASE WHEN status = 'void' THEN 0 ELSE total - amount_paid - amount_credited END",
    )


def downgrade() -> None:
    for name, _ in reversed(SELLER_COLUMNS):
        op.drop_column("billing_settings", name)
    op.drop_column("invoices", "bill_to")
    op.drop_constraint(op.f(BALANCE_RULE), "invoices", type_="check")
    _fix_every_firm(VOID_OWES_REST)
    op.create_check_constraint(
        op.f(BALANCE_RULE), "invoices", "balance = total - amount_paid - amount_credited"
    )
