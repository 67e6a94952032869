"""The firm's billing settings: numbering, default payment terms, the business hours
dunning emails keep to, the firm's own invoice template, and the seller's legal details
every invoice prints (legal name, address, country, VAT id or tax number, IBAN and BIC;
see ``services.billing.seller`` for their checks and what EU law requires).

One row per firm, created with the defaults the first time anything reads it."""

import uuid
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import Unprocessable
from core.not_null import NeverNull
from core.principal import Principal
from core.validation_messages import pattern_message
from models import BillingSettings
from services import audit
from services.billing.numbering import PREFIX_PATTERN
from services.billing.repository import SETTINGS
from services.billing.seller import (
    EU_COUNTRIES,
    normalize_bic,
    normalize_country,
    normalize_iban,
    normalize_vat_id,
    vat_prefix,
)

Weekday = Annotated[int, Field(ge=1, le=7)]
Prefix = Annotated[
    str,
    StringConstraints(max_length=40, pattern=PREFIX_PATTERN.pattern),
    pattern_message("Use letters, digits, '_', '.', '/', '#', '-' and the {year} placeholder."),
]


def _blank_to_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


Blank = BeforeValidator(_blank_to_none)
Text20 = Annotated[
    Annotated[str, StringConstraints(strip_whitespace=True, max_length=20)] | None, Blank
]
Text40 = Annotated[
    Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)] | None, Blank
]
Text100 = Annotated[
    Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None, Blank
]
Text200 = Annotated[
    Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None, Blank
]
Country = Annotated[Annotated[str, AfterValidator(normalize_country)] | None, Blank]
VatId = Annotated[
    Annotated[str, StringConstraints(max_length=30), AfterValidator(normalize_vat_id)] | None,
    Blank,
]
Iban = Annotated[
    Annotated[str, StringConstraints(max_length=60), AfterValidator(normalize_iban)] | None,
    Blank,
]
Bic = Annotated[
    Annotated[str, StringConstraints(max_length=20), AfterValidator(normalize_bic)] | None,
    Blank,
]


# Seller details may be cleared with null or ""; these are the ones that may not.
_NOT_NULL = frozenset(
    {"invoice_number_prefix", "credit_note_number_prefix", "invoice_number_digits"}
    | {"default_payment_terms_days", "business_hours_start", "business_hours_end"}
    | {"business_days"}
)
SELLER_FIELDS = (
    "seller_legal_name",
    "seller_address_line1",
    "seller_address_line2",
    "seller_postal_code",
    "seller_city",
    "seller_country",
    "seller_vat_id",
    "seller_tax_number",
    "seller_iban",
    "seller_bic",
)


class SettingsPatch(BaseModel):
    """Only the fields present change. Prefixes may contain ``{year}`` (the issue date's
    year); each rendered prefix numbers from 1."""

    model_config = ConfigDict(extra="forbid")

    invoice_number_prefix: Annotated[Prefix | None, NeverNull] = None
    credit_note_number_prefix: Annotated[Prefix | None, NeverNull] = None
    invoice_number_digits: Annotated[Annotated[int, Field(ge=1, le=12)] | None, NeverNull] = None
    default_payment_terms_days: Annotated[Annotated[int, Field(ge=0, le=365)] | None, NeverNull] = (
        None
    )
    business_hours_start: Annotated[Annotated[int, Field(ge=0, le=23)] | None, NeverNull] = None
    business_hours_end: Annotated[Annotated[int, Field(ge=1, le=24)] | None, NeverNull] = None
    business_days: Annotated[
        Annotated[list[Weekday], Field(min_length=1, max_length=7)] | None, NeverNull
    ] = None
    seller_legal_name: Text200 = None
    seller_address_line1: Text200 = None
    seller_address_line2: Text200 = None
    seller_postal_code: Text20 = None
    seller_city: Text100 = None
    # ISO 3166-1 alpha-2; an EU country makes the legal details mandatory on invoices.
    seller_country: Country = None
    seller_vat_id: VatId = None
    # A national tax number (e.g. Germany's Steuernummer), where it may replace the VAT id.
    seller_tax_number: Text40 = None
    seller_iban: Iban = None
    seller_bic: Bic = None

    @field_validator(*_NOT_NULL, mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may not be null")
        return value

    @field_validator("business_days")
    @classmethod
    def _distinct_days(cls, value: list[int] | None) -> list[int] | None:
        return None if value is None else sorted(set(value))


def summarize(settings: BillingSettings) -> dict[str, Any]:
    """The audited fields (the Stripe key is part of the row but never summarized)."""
    return {
        "invoice_number_prefix": settings.invoice_number_prefix,
        "credit_note_number_prefix": settings.credit_note_number_prefix,
        "invoice_number_digits": settings.invoice_number_digits,
        "default_payment_terms_days": settings.default_payment_terms_days,
        "business_hours_start": settings.business_hours_start,
        "business_hours_end": settings.business_hours_end,
        "business_days": list(settings.business_days),
        "custom_template": settings.invoice_template is not None,
        **{name: getattr(settings, name) for name in SELLER_FIELDS},
    }


async def get_settings(
    session: AsyncSession, firm_id: uuid.UUID, *, lock: bool = False
) -> BillingSettings:
    """The firm's settings row, created with the defaults if the firm has none yet."""
    defaults = BillingSettings.__table__.c
    await session.execute(
        insert(BillingSettings)
        .values(
            id=uuid.uuid4(),
            firm_id=firm_id,
            invoice_number_prefix=defaults.invoice_number_prefix.default.arg,
            credit_note_number_prefix=defaults.credit_note_number_prefix.default.arg,
            invoice_number_digits=defaults.invoice_number_digits.default.arg,
            default_payment_terms_days=defaults.default_payment_terms_days.default.arg,
            business_hours_start=defaults.business_hours_start.default.arg,
            business_hours_end=defaults.business_hours_end.default.arg,
            business_days=[1, 2, 3, 4, 5],
        )
        .on_conflict_do_nothing(index_elements=["firm_id"])
    )
    stmt = SETTINGS.select(firm_id)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.scalars(stmt.execution_options(populate_existing=True))).one()


async def record_change(
    session: AsyncSession, principal: Principal, settings: BillingSettings, before: dict[str, Any]
) -> BillingSettings:
    await session.flush()
    await session.refresh(settings)
    await audit.record_changes(
        session,
        principal,
        action="billing_settings.updated",
        record_type="billing_settings",
        record_id=settings.id,
        before=before,
        after=summarize(settings),
        skip_unchanged=True,
    )
    return settings


async def update_settings(
    session: AsyncSession, principal: Principal, *, patch: SettingsPatch
) -> BillingSettings:
    settings = await get_settings(session, principal.firm_id, lock=True)
    before = summarize(settings)
    for name, value in patch.model_dump(include=patch.model_fields_set).items():
        setattr(settings, name, value)
    if settings.business_hours_start >= settings.business_hours_end:
        raise Unprocessable(
            "Business hours must start before they end",
            errors=[
                {"pointer": "/business_hours_end", "detail": "must be after business_hours_start"}
            ],
        )
    _check_vat_country(settings)
    return await record_change(session, principal, settings, before)


def _check_vat_country(settings: BillingSettings) -> None:
    """An EU VAT number names its country; one of another country is a mistake."""
    vat_id, country = settings.seller_vat_id, settings.seller_country
    if vat_id is None or country is None or country not in EU_COUNTRIES:
        return
    prefix = vat_prefix(country)
    if not vat_id.startswith(prefix):
        raise Unprocessable(
            f"The VAT identification number must start with {prefix} for a seller in "
            f"{country}; correct the number or the country.",
            errors=[{"pointer": "/seller_vat_id", "detail": f"must start with {prefix}"}],
        )
