"""Payments, refunds, client credit: request bodies and what the API returns."""

import enum
import uuid
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from models import PaymentKind, PaymentMethod

# Far beyond any real payment and far below bigint.
MAX_AMOUNT = 10**15

Amount = Annotated[int, Field(gt=0, le=MAX_AMOUNT, description="Minor units of the currency.")]
Reference = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


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
