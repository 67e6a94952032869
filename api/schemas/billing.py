"""Invoices, tax rates and billing settings. Request bodies are the services' own field
rules, so the API, recurring invoices and activities accept exactly the same values."""

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from models import BillingSettings, Invoice, InvoiceKind, InvoiceLine, InvoiceStatus
from services.billing.invoice_fields import InvoiceFields, InvoicePatch
from services.billing.settings import SettingsPatch
from services.billing.tax_rates import TaxRateFields, TaxRatePatch


class TaxRateCreate(TaxRateFields):
    """``percent`` is 0 to 100 with up to 4 decimals; the name is unique among the firm's
    active rates."""


class TaxRateUpdate(TaxRatePatch):
    """Only the fields sent change; invoices already saved keep their snapshot."""


class TaxRateRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    percent: Decimal
    inclusive: bool
    archived_at: datetime | None
    created_at: datetime
    updated_at: datetime


class InvoiceCreate(InvoiceFields):
    """A new draft. Amounts are integer minor units of ``currency``."""


class InvoiceUpdate(InvoicePatch):
    """Drafts only. ``lines`` replaces every line."""


class VoidRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None


class TaxApplied(BaseModel):
    tax_rate_id: uuid.UUID
    name: str
    percent: Decimal
    inclusive: bool


class TaxLine(TaxApplied):
    """One rate's total over the invoice: what it was charged on, and what it came to."""

    taxable: int
    amount: int


class InvoiceLineRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    position: int
    description: str
    quantity: Decimal
    unit_price: int
    taxes: list[TaxApplied]
    amount: int
    discount_amount: int
    tax_amount: int


class BillTo(BaseModel):
    """The client as the invoice names it, fixed when it was issued."""

    name: str
    email: str | None
    phone: str | None
    vat_id: str | None
    address_lines: list[str]


class InvoiceSummary(BaseModel):
    """An invoice without its lines (the list's items)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: InvoiceKind
    number: str | None
    status: InvoiceStatus
    client_id: uuid.UUID
    # Null on drafts (and on invoices issued before it was kept).
    bill_to: BillTo | None
    credited_invoice_id: uuid.UUID | None
    currency: str
    issue_date: date | None
    due_date: date | None
    payment_terms_days: int | None
    notes: str | None
    discount_kind: str | None
    discount_value: Decimal
    subtotal: int
    discount_total: int
    tax_total: int
    tax_exclusive_total: int
    late_fee: int
    total: int
    amount_paid: int
    amount_credited: int
    balance: int
    tax_breakdown: list[TaxLine]
    in_collections: bool
    dunning_paused: bool
    recurring_invoice_id: uuid.UUID | None
    finalized_at: datetime | None
    sent_at: datetime | None
    paid_at: datetime | None
    voided_at: datetime | None
    uncollectible_at: datetime | None
    created_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class InvoiceRead(InvoiceSummary):
    lines: list[InvoiceLineRead]


def invoice_read(invoice: Invoice, lines: list[InvoiceLine]) -> InvoiceRead:
    summary: dict[str, Any] = InvoiceSummary.model_validate(invoice).model_dump()
    return InvoiceRead(**summary, lines=[InvoiceLineRead.model_validate(line) for line in lines])


class BillingSettingsRead(BaseModel):
    """The Stripe key is never part of this (see the Stripe account endpoints)."""

    model_config = ConfigDict(from_attributes=True)

    invoice_number_prefix: str
    credit_note_number_prefix: str
    invoice_number_digits: int
    default_payment_terms_days: int
    business_hours_start: int
    business_hours_end: int
    business_days: list[int]
    invoice_template: str | None
    seller_legal_name: str | None
    seller_address_line1: str | None
    seller_address_line2: str | None
    seller_postal_code: str | None
    seller_city: str | None
    seller_country: str | None
    seller_vat_id: str | None
    seller_tax_number: str | None
    seller_iban: str | None
    seller_bic: str | None
    updated_at: datetime


def settings_read(settings: BillingSettings) -> BillingSettingsRead:
    return BillingSettingsRead.model_validate(settings)


class BillingSettingsUpdate(SettingsPatch):
    """Only the fields sent change. Hours are whole hours in the firm's time zone
    (start inclusive, end exclusive); days are ISO weekdays, 1 = Monday. The ``seller_*``
    details are printed on every invoice; null or "" clears one. ``seller_country`` is an
    ISO 3166 code; in an EU country, legal name, street, postal code, city and VAT id (or
    tax number) must be set before an invoice can be issued. The IBAN is checked with its
    mod-97 check digits and stored without spaces."""


class InvoiceTemplateBody(BaseModel):
    """A Jinja2 template (sandboxed, autoescaped). It sees ``firm``, ``seller``,
    ``client``, ``invoice``, ``lines``, ``taxes``, ``totals`` (formatted) and
    ``totals_minor``."""

    model_config = ConfigDict(extra="forbid")

    template: Annotated[str, Field(min_length=1, max_length=100_000)]
