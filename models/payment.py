"""Money received and returned: payments (manual or through a provider), refunds, the
client's credit ledger and the payment methods a client saved with a provider."""

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdMixin, TenantMixin, TimestampMixin, varchar_enum


class PaymentKind(enum.StrEnum):
    payment = "payment"
    refund = "refund"


class PaymentMethod(enum.StrEnum):
    bank_transfer = "bank_transfer"
    cash = "cash"
    check = "check"
    card = "card"
    credit = "credit"
    other = "other"


class CreditReason(enum.StrEnum):
    # More was paid than the invoice owed.
    overpayment = "overpayment"
    # A payment arrived for a void, uncollectible or already paid invoice.
    payment_on_closed_invoice = "payment_on_closed_invoice"
    # The part of a credit note its invoice did not absorb.
    credit_note = "credit_note"
    # Credit spent on an invoice (a negative entry).
    applied = "applied"
    # Credit paid back to the client (a negative entry).
    refunded = "refunded"
    # A refund came back for money that had already left as credit.
    reversal = "reversal"
    # Credit held while a card dispute of the payment it came from is open (negative).
    dispute_hold = "dispute_hold"
    # The hold given back when the dispute closed (positive); a lost dispute then takes
    # the credit back as a refund.
    dispute_release = "dispute_release"


class Payment(IdMixin, TenantMixin, TimestampMixin, Base):
    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("kind IN ('payment', 'refund')", name="kind_known"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(
            "applied_amount >= 0 AND credited_amount >= 0 "
            "AND applied_amount + credited_amount = amount",
            name="split_is_whole",
        ),
        CheckConstraint(
            "(kind = 'refund') = (refund_of_id IS NOT NULL)", name="refund_has_payment"
        ),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_format"),
        # A provider's payment or refund is recorded once, however often it is reported.
        Index(
            "uq_payments_firm_id_provider_provider_ref",
            "firm_id",
            "provider",
            "provider_ref",
            unique=True,
            postgresql_where=text("provider_ref IS NOT NULL"),
        ),
        Index("ix_payments_firm_id_created_at_id", "firm_id", "created_at", "id"),
        Index("ix_payments_firm_id_invoice_id", "firm_id", "invoice_id"),
        # Payments received by month (the revenue report).
        Index("ix_payments_firm_id_received_on", "firm_id", "received_on"),
        Index(
            "ix_payments_firm_id_client_id_created_at_id",
            "firm_id",
            "client_id",
            "created_at",
            "id",
        ),
    )

    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id"))
    # Null when the whole amount became client credit.
    invoice_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("invoices.id"))
    kind: Mapped[PaymentKind] = mapped_column(
        varchar_enum(PaymentKind, 8), default=PaymentKind.payment
    )
    refund_of_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("payments.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    # How much reduced the invoice's balance, and how much went to the client's credit.
    applied_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    credited_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    method: Mapped[PaymentMethod] = mapped_column(varchar_enum(PaymentMethod, 16))
    received_on: Mapped[date]
    reference: Mapped[str | None] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)
    # "stripe" and the provider's id (payment intent, charge or refund id) for dedupe.
    provider: Mapped[str | None] = mapped_column(String(20))
    provider_ref: Mapped[str | None] = mapped_column(String(255))
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )


class ClientCredit(IdMixin, TenantMixin, TimestampMixin, Base):
    """A ledger: a client's credit in a currency is the sum of its entries, never below 0."""

    __tablename__ = "client_credits"
    __table_args__ = (
        CheckConstraint("amount <> 0", name="amount_not_zero"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_format"),
        Index("ix_client_credits_firm_id_client_id_currency", "firm_id", "client_id", "currency"),
    )

    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id"))
    currency: Mapped[str] = mapped_column(String(3))
    # Positive: credit granted; negative: credit used or paid back.
    amount: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[CreditReason] = mapped_column(varchar_enum(CreditReason, 32))
    payment_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("payments.id"))
    invoice_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("invoices.id"))
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )


class SavedPaymentMethod(IdMixin, TenantMixin, TimestampMixin, Base):
    """A card or account a client saved with the provider, for off-session charges and
    the retries of failed card payments."""

    __tablename__ = "saved_payment_methods"
    __table_args__ = (
        Index(
            "uq_saved_payment_methods_firm_id_provider_method_ref",
            "firm_id",
            "provider",
            "method_ref",
            unique=True,
        ),
        Index("ix_saved_payment_methods_firm_id_client_id", "firm_id", "client_id"),
    )

    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id"))
    provider: Mapped[str] = mapped_column(String(20))
    customer_ref: Mapped[str] = mapped_column(String(255))
    method_ref: Mapped[str] = mapped_column(String(255))
    label: Mapped[str | None] = mapped_column(String(100))
    is_default: Mapped[bool] = mapped_column(Boolean, default=True)
    detached_at: Mapped[datetime | None]


class DisputeStatus(enum.StrEnum):
    open = "open"
    won = "won"
    lost = "lost"


class PaymentDispute(IdMixin, TenantMixin, TimestampMixin, Base):
    """A card dispute (chargeback) of a provider payment, once per provider dispute id.
    While it is open, the client credit the payment became is held (``frozen_credit``);
    closing it releases the hold, and a lost one takes the money back as a refund."""

    __tablename__ = "payment_disputes"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'won', 'lost')", name="status_known"),
        CheckConstraint("amount >= 0 AND frozen_credit >= 0", name="amounts_not_negative"),
        Index(
            "uq_payment_disputes_firm_id_provider_dispute_ref",
            "firm_id",
            "provider",
            "dispute_ref",
            unique=True,
        ),
        Index("ix_payment_disputes_firm_id_payment_id", "firm_id", "payment_id"),
    )

    payment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("payments.id"))
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id"))
    provider: Mapped[str] = mapped_column(String(20))
    dispute_ref: Mapped[str] = mapped_column(String(255))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str] = mapped_column(String(100))
    status: Mapped[DisputeStatus] = mapped_column(
        varchar_enum(DisputeStatus, 8), default=DisputeStatus.open
    )
    # The provider's own status word (needs_response, under_review, won, lost ...).
    provider_status: Mapped[str] = mapped_column(String(40))
    # The ``created`` of the event that set provider_status: an older one never overwrites it.
    provider_status_at: Mapped[int] = mapped_column(BigInteger)
    # The day the provider opened the dispute (its ``created``), in the firm's time zone.
    opened_on: Mapped[date]
    frozen_credit: Mapped[int] = mapped_column(BigInteger, default=0)
