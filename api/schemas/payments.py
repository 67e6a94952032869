"""Payments, refunds, client credit: request bodies and what the API returns."""

import enum
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from core.validation_messages import CURRENCY_MESSAGE, pattern_message
from models import InvoiceKind, InvoiceStatus, PaymentKind, PaymentMethod
from services.billing.invoice_lines import Lines

# Far beyond any real payment and far below bigint.
MAX_AMOUNT = 10**15

Amount = Annotated[int, Field(gt=0, le=MAX_AMOUNT, description="Minor units of the currency.")]
Reference = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Currency = Annotated[
    str, StringConstraints(pattern=r"^[A-Z]{3}$"), pattern_message(CURRENCY_MESSAGE)
]


class ManualMethod(enum.StrEnum):
    """How money people record by hand arrived (card payments come through Stripe)."""

    bank_transfer = PaymentMethod.bank_transfer.value
    cash = PaymentMethod.cash.value
    check = PaymentMethod.check.value
    other = PaymentMethod.other.value


class PaymentCreate(BaseModel):
    """Money received for the invoice. What exceeds its balance, or all of it when the
    invoice is paid or void, becomes the client's credit."""

    model_config = ConfigDict(extra="forbid")

    amount: Amount
    currency: Currency = Field(description="Must be the invoice's currency.")
    method: ManualMethod
    received_on: date | None = Field(
        default=None, description="When the money arrived; today in the firm's time zone."
    )
    reference: Reference | None = None


class RefundCreate(BaseModel):
    """Money paid back on a payment: first from what it paid on the invoice, then from
    the client credit it became."""

    model_config = ConfigDict(extra="forbid")

    amount: Amount
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2_000)] | None = None


class ApplyCredit(BaseModel):
    """Spend the client's credit on the invoice: ``amount``, or as much as the credit and
    the balance allow when omitted."""

    model_config = ConfigDict(extra="forbid")

    amount: Amount | None = None


class CreditNoteCreate(BaseModel):
    """Credit the invoice by ``lines`` (described, priced and taxed like invoice lines) or
    by an ``amount`` (one untaxed line). All credit notes of an invoice together may not
    exceed its total."""

    model_config = ConfigDict(extra="forbid")

    lines: Lines | None = None
    amount: Amount | None = None
    notes: Annotated[str, StringConstraints(max_length=10_000)] | None = None


class CreditNoteLineRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    description: str
    quantity: Decimal
    unit_price: int
    amount: int
    discount_amount: int
    tax_amount: int


class CreditNoteRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: InvoiceKind
    number: str | None
    status: InvoiceStatus
    credited_invoice_id: uuid.UUID | None
    client_id: uuid.UUID
    currency: str
    issue_date: date | None
    notes: str | None
    subtotal: int
    tax_total: int
    total: int
    amount_credited: int
    balance: int
    created_at: datetime
    lines: list[CreditNoteLineRead] = []
    to_client_credit: int = Field(
        default=0,
        description="The part the invoice could not absorb, added to the client's credit.",
    )


class PaymentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: PaymentKind
    client_id: uuid.UUID
    invoice_id: uuid.UUID | None = Field(
        description="Null when none of the money reached an invoice (it all became credit)."
    )
    refund_of_id: uuid.UUID | None
    amount: int
    currency: str
    applied_amount: int = Field(description="The part that reduced the invoice's balance.")
    credited_amount: int = Field(description="The part that went to (or came from) credit.")
    method: PaymentMethod
    received_on: date
    reference: str | None
    notes: str | None
    provider: str | None
    provider_ref: str | None
    created_by: uuid.UUID | None
    created_at: datetime


class RefundRead(PaymentRead):
    credit_shortfall: int = Field(
        description="What the refund could not take back from client credit because the "
        "credit had already been spent; 0 when it took back all it meant to."
    )


class CreditBalance(BaseModel):
    currency: str
    amount: int


class ClientCreditRead(BaseModel):
    client_id: uuid.UUID
    balances: list[CreditBalance] = Field(description="Per currency, never below 0.")


class AgingBuckets(BaseModel):
    current: int = Field(description="Not yet due, or due on the report's day.")
    days_1_30: int
    days_31_60: int
    days_61_90: int
    days_over_90: int
    total: int


class AgingRowRead(AgingBuckets):
    client_id: uuid.UUID
    client_name: str
    currency: str


class AgingTotalRead(AgingBuckets):
    currency: str


class AgingReportRead(BaseModel):
    as_of: date
    items: list[AgingRowRead] = Field(description="Per client and currency, by client name.")
    totals: list[AgingTotalRead] = Field(description="The whole firm, per currency.")
    next_cursor: str | None = None


class RevenueRowRead(BaseModel):
    month: str = Field(description="YYYY-MM.")
    currency: str
    invoiced: int = Field(description="Totals of the invoices issued that month.")
    credited: int = Field(description="Totals of the credit notes issued that month.")
    net_invoiced: int
    received: int = Field(description="Money that arrived that month (not applied credit).")
    refunded: int
    net_received: int


class RevenueReportRead(BaseModel):
    date_from: date = Field(serialization_alias="from")
    date_to: date = Field(serialization_alias="to")
    items: list[RevenueRowRead]
