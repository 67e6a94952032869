"""What callers give to create or change an invoice: the draft's fields and its patch,
validated the same way for the API and for system callers (recurring invoices)."""

import uuid
from datetime import date
from typing import Annotated, Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from core.errors import unprocessable
from core.not_null import NeverNull
from core.validation_messages import CURRENCY_MESSAGE, pattern_message
from services.billing.currencies import is_currency
from services.billing.invoice_lines import Discount, Lines

Currency = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Z]{3}$"),
    pattern_message(CURRENCY_MESSAGE),
]
Notes = Annotated[str, StringConstraints(max_length=10_000)]
Terms = Annotated[int, Field(ge=0, le=365)]


def _known_currency(value: str | None) -> str | None:
    if value is not None and not is_currency(value):
        raise ValueError("not an ISO 4217 currency code")
    return value


class InvoiceFields(BaseModel):
    """A new draft. Dates are calendar dates in the firm's time zone. Give ``due_date`` or
    ``payment_terms_days`` (net N days after the issue date), not both; with neither, the
    firm's default terms apply. Without ``issue_date`` the invoice is dated when it is
    finalized. ``currency`` defaults to the firm's."""

    model_config = ConfigDict(extra="forbid")

    client_id: uuid.UUID
    currency: Currency | None = None
    issue_date: date | None = None
    due_date: date | None = None
    payment_terms_days: Terms | None = None
    notes: Notes | None = None
    discount: Discount | None = None
    lines: Lines

    _currency = field_validator("currency")(_known_currency)

    @model_validator(mode="after")
    def _dates(self) -> Self:
        if self.due_date is not None and self.payment_terms_days is not None:
            raise ValueError("give due_date or payment_terms_days, not both")
        if self.due_date and self.issue_date and self.due_date < self.issue_date:
            raise ValueError("due_date is before issue_date")
        return self


class InvoicePatch(BaseModel):
    """A draft's changes: only the fields present change; ``lines`` replaces all lines.
    ``issue_date``, ``due_date``, ``payment_terms_days``, ``notes`` and ``discount`` may
    be null to clear them."""

    model_config = ConfigDict(extra="forbid")

    client_id: Annotated[uuid.UUID | None, NeverNull] = None
    currency: Annotated[Currency | None, NeverNull] = None
    issue_date: date | None = None
    due_date: date | None = None
    payment_terms_days: Terms | None = None
    notes: Notes | None = None
    discount: Discount | None = None
    lines: Annotated[Lines | None, NeverNull] = None

    _currency = field_validator("currency")(_known_currency)

    @field_validator("client_id", "currency", "lines", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may not be null")
        return value


def validate_invoice_fields(data: dict[str, Any]) -> InvoiceFields:
    """Validate raw fields (e.g. a recurring template's); ``Unprocessable`` with a JSON
    pointer per problem."""
    try:
        return InvoiceFields.model_validate(data)
    except ValidationError as exc:
        raise unprocessable(exc) from exc
