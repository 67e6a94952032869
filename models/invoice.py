"""Invoices and credit notes, their lines, the firm's tax rates, gapless numbering and the
firm's billing settings.

Money is integer minor units of the invoice's currency. The stored totals are computed by
``services.billing.totals`` (the one function that does it) and kept consistent with the
lines by the check constraints below and by tests."""

import enum
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdMixin, TenantMixin, TimestampMixin, varchar_enum


class InvoiceKind(enum.StrEnum):
    invoice = "invoice"
    credit_note = "credit_note"


class InvoiceStatus(enum.StrEnum):
    draft = "draft"
    open = "open"
    partially_paid = "partially_paid"
    paid = "paid"
    void = "void"
    uncollectible = "uncollectible"


class DiscountKind(enum.StrEnum):
    percent = "percent"
    amount = "amount"


class BillingSettings(IdMixin, TenantMixin, TimestampMixin, Base):
    """One row per firm, created with defaults the first time it is read."""

    __tablename__ = "billing_settings"
    __table_args__ = (
        UniqueConstraint("firm_id"),
        CheckConstraint("invoice_number_digits BETWEEN 1 AND 12", name="digits_range"),
        CheckConstraint(
            "business_hours_start >= 0 AND business_hours_end <= 24 "
            "AND business_hours_start < business_hours_end",
            name="business_hours_order",
        ),
        CheckConstraint("default_payment_terms_days BETWEEN 0 AND 365", name="terms_range"),
    )

    # "{year}" is replaced by the year of the issue date; each distinct rendered prefix has
    # its own sequence, so numbering restarts every year when the prefix contains the year.
    invoice_number_prefix: Mapped[str] = mapped_column(String(40), default="INV-{year}-")
    credit_note_number_prefix: Mapped[str] = mapped_column(String(40), default="CN-{year}-")
    invoice_number_digits: Mapped[int] = mapped_column(SmallInteger, default=4)
    default_payment_terms_days: Mapped[int] = mapped_column(Integer, default=30)
    # The firm's own sandboxed Jinja2 invoice template; null means the shipped default.
    invoice_template: Mapped[str | None] = mapped_column(Text)
    # Dunning emails go out only inside these hours (firm time zone) on these ISO weekdays.
    business_hours_start: Mapped[int] = mapped_column(SmallInteger, default=9)
    business_hours_end: Mapped[int] = mapped_column(SmallInteger, default=17)
    business_days: Mapped[list[int]] = mapped_column(
        ARRAY(SmallInteger), default=lambda: [1, 2, 3, 4, 5]
    )
    # The firm's own Stripe secret key (Fernet, core.crypto.Cipher); never returned.
    stripe_secret_key_encrypted: Mapped[str | None] = mapped_column(Text)
    # The seller as invoices name it (EU directive 2006/112/EC art. 226); an EU country
    # makes name, address and VAT id (or tax number) mandatory before an invoice is issued.
    seller_legal_name: Mapped[str | None] = mapped_column(String(200))
    seller_address_line1: Mapped[str | None] = mapped_column(String(200))
    seller_address_line2: Mapped[str | None] = mapped_column(String(200))
    seller_postal_code: Mapped[str | None] = mapped_column(String(20))
    seller_city: Mapped[str | None] = mapped_column(String(100))
    # ISO 3166-1 alpha-2.
    seller_country: Mapped[str | None] = mapped_column(String(2))
    seller_vat_id: Mapped[str | None] = mapped_column(String(30))
    seller_tax_number: Mapped[str | None] = mapped_column(String(40))
    # Stored in electronic form (no spaces); checked with mod-97 on the way in.
    seller_iban: Mapped[str | None] = mapped_column(String(34))
    seller_bic: Mapped[str | None] = mapped_column(String(11))


class TaxRate(IdMixin, TenantMixin, TimestampMixin, Base):
    __tablename__ = "tax_rates"
    __table_args__ = (
        CheckConstraint("percent >= 0 AND percent <= 100", name="percent_range"),
        Index(
            "uq_tax_rates_firm_id_name",
            "firm_id",
            "name",
            unique=True,
            postgresql_where=text("archived_at IS NULL"),
        ),
        Index("ix_tax_rates_firm_id_created_at_id", "firm_id", "created_at", "id"),
    )

    name: Mapped[str] = mapped_column(String(100))
    percent: Mapped[Decimal] = mapped_column(Numeric(7, 4))
    # Inclusive: line prices already contain this tax; exclusive: it is added on top.
    inclusive: Mapped[bool] = mapped_column(Boolean, default=False)
    # Rates are archived, never deleted: finalized invoices keep a snapshot of theirs anyway.
    archived_at: Mapped[datetime | None]


class Invoice(IdMixin, TenantMixin, TimestampMixin, Base):
    __tablename__ = "invoices"
    __table_args__ = (
        CheckConstraint(
            "status IN ('draft', 'open', 'partially_paid', 'paid', 'void', 'uncollectible')",
            name="status_known",
        ),
        CheckConstraint("kind IN ('invoice', 'credit_note')", name="kind_known"),
        CheckConstraint("(number IS NULL) = (status = 'draft')", name="numbered_when_final"),
        CheckConstraint(
            "(kind = 'credit_note') = (credited_invoice_id IS NOT NULL)",
            name="credit_note_has_invoice",
        ),
        CheckConstraint(
            "discount_kind IS NULL OR discount_kind IN ('percent', 'amount')",
            name="discount_kind_known",
        ),
        CheckConstraint("discount_value >= 0", name="discount_not_negative"),
        CheckConstraint(
            "subtotal >= 0 AND discount_total >= 0 AND tax_total >= 0 AND late_fee >= 0 "
            "AND amount_paid >= 0 AND amount_credited >= 0",
            name="amounts_not_negative",
        ),
        CheckConstraint(
            "total = subtotal - discount_total + tax_exclusive_total + late_fee",
            name="total_is_sum",
        ),
        CheckConstraint("tax_exclusive_total <= tax_total", name="exclusive_tax_within_tax"),
        # What is owed (services.billing.invoice_status.balance_due): nothing once void.
        CheckConstraint(
            "balance = CASE WHEN status = 'void' THEN 0 "
            "ELSE total - amount_paid - amount_credited END",
            name="balance_is_rest",
        ),
        CheckConstraint("kind = 'credit_note' OR balance >= 0", name="balance_not_negative"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_format"),
        UniqueConstraint("firm_id", "number"),
        UniqueConstraint("recurring_invoice_id", "occurrence_date"),
        # One index behind each list filter, each ending in the keyset order.
        Index("ix_invoices_firm_id_created_at_id", "firm_id", "created_at", "id"),
        Index("ix_invoices_firm_id_kind_created_at_id", "firm_id", "kind", "created_at", "id"),
        Index("ix_invoices_firm_id_status_created_at_id", "firm_id", "status", "created_at", "id"),
        Index(
            "ix_invoices_firm_id_client_id_created_at_id",
            "firm_id",
            "client_id",
            "created_at",
            "id",
        ),
        # Receivables: what is still owed, by due date (aging) and by client.
        Index(
            "ix_invoices_receivable",
            "firm_id",
            "due_date",
            postgresql_where=text("status IN ('open', 'partially_paid') AND kind = 'invoice'"),
        ),
        # In collections and still owed (the list's in_collections filter), newest first.
        Index(
            "ix_invoices_in_collections",
            "firm_id",
            "created_at",
            "id",
            postgresql_where=text(
                "in_collections AND status IN ('open', 'partially_paid') AND kind = 'invoice'"
            ),
        ),
        # Revenue by month: issued invoices by issue date.
        Index(
            "ix_invoices_firm_id_issue_date",
            "firm_id",
            "issue_date",
            postgresql_where=text("status <> 'draft'"),
        ),
    )

    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id"))
    kind: Mapped[InvoiceKind] = mapped_column(
        varchar_enum(InvoiceKind, 12), default=InvoiceKind.invoice
    )
    # A credit note credits exactly one invoice of the same client and currency.
    credited_invoice_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("invoices.id"))
    number: Mapped[str | None] = mapped_column(String(60))
    status: Mapped[InvoiceStatus] = mapped_column(
        varchar_enum(InvoiceStatus, 16), default=InvoiceStatus.draft
    )
    # The overdue state of Kill Bill's vocabulary: escalated, still owed.
    in_collections: Mapped[bool] = mapped_column(Boolean, default=False)
    currency: Mapped[str] = mapped_column(String(3))
    issue_date: Mapped[date | None]
    due_date: Mapped[date | None]
    payment_terms_days: Mapped[int | None] = mapped_column(Integer)
    notes: Mapped[str | None] = mapped_column(Text)
    discount_kind: Mapped[DiscountKind | None] = mapped_column(varchar_enum(DiscountKind, 8))
    # A percentage (0-100) or an amount in minor units, depending on discount_kind.
    discount_value: Mapped[Decimal] = mapped_column(Numeric(18, 4), default=Decimal(0))
    subtotal: Mapped[int] = mapped_column(BigInteger, default=0)
    discount_total: Mapped[int] = mapped_column(BigInteger, default=0)
    tax_total: Mapped[int] = mapped_column(BigInteger, default=0)
    # The part of tax_total added on top of prices (inclusive taxes are inside subtotal).
    tax_exclusive_total: Mapped[int] = mapped_column(BigInteger, default=0)
    late_fee: Mapped[int] = mapped_column(BigInteger, default=0)
    total: Mapped[int] = mapped_column(BigInteger, default=0)
    amount_paid: Mapped[int] = mapped_column(BigInteger, default=0)
    amount_credited: Mapped[int] = mapped_column(BigInteger, default=0)
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    # The client as the invoice names it, fixed at finalize (services.billing.bill_to):
    # {"name", "email", "phone", "vat_id", "address_lines"}; null on drafts.
    bill_to: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # Per rate: [{"tax_rate_id", "name", "percent", "inclusive", "taxable", "amount"}].
    tax_breakdown: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    late_fee_applied_at: Mapped[datetime | None]
    dunning_paused: Mapped[bool] = mapped_column(Boolean, default=False)
    recurring_invoice_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("recurring_invoices.id")
    )
    occurrence_date: Mapped[date | None]
    finalized_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]
    voided_at: Mapped[datetime | None]
    uncollectible_at: Mapped[datetime | None]
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    # The invoice as a PDF: a document of the client whose versions are its renderings
    # (finalized, then voided or credited), the newest the one the client sees.
    document_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("documents.id", ondelete="SET NULL", use_alter=True)
    )


class InvoiceLine(IdMixin, TenantMixin, Base):
    __tablename__ = "invoice_lines"
    __table_args__ = (
        UniqueConstraint("invoice_id", "position"),
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
        CheckConstraint("unit_price >= 0", name="price_not_negative"),
        CheckConstraint(
            "amount >= 0 AND discount_amount >= 0 AND discount_amount <= amount "
            "AND tax_amount >= 0",
            name="amounts_in_range",
        ),
    )

    invoice_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("invoices.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(SmallInteger)
    description: Mapped[str] = mapped_column(String(500))
    quantity: Mapped[Decimal] = mapped_column(Numeric(18, 4))
    unit_price: Mapped[int] = mapped_column(BigInteger)
    # Snapshot of the rates applied: [{"tax_rate_id", "name", "percent", "inclusive"}], so a
    # rate changed later never changes an issued invoice.
    taxes: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    # quantity x unit_price, rounded half-even to a minor unit.
    amount: Mapped[int] = mapped_column(BigInteger)
    # This line's share of the invoice discount.
    discount_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    tax_amount: Mapped[int] = mapped_column(BigInteger, default=0)


class InvoiceNumberSequence(IdMixin, TenantMixin, Base):
    """The last number used per rendered prefix. Taken with a row lock in the finalizing
    transaction, so a rolled-back finalization gives its number back: no gaps."""

    __tablename__ = "invoice_number_sequences"
    __table_args__ = (UniqueConstraint("firm_id", "prefix"),)

    prefix: Mapped[str] = mapped_column(String(60))
    last_value: Mapped[int] = mapped_column(Integer, default=0)
