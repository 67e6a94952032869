"""The firm's billing settings: numbering, default payment terms, the business hours
dunning emails keep to, and the firm's own invoice template.

One row per firm, created with the defaults the first time anything reads it."""

import uuid
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import Unprocessable
from core.principal import Principal
from models import BillingSettings
from services import audit
from services.billing.numbering import PREFIX_PATTERN

Weekday = Annotated[int, Field(ge=1, le=7)]
Prefix = Annotated[str, StringConstraints(max_length=40, pattern=PREFIX_PATTERN.pattern)]


class SettingsPatch(BaseModel):
    """Only the fields present change. Prefixes may contain ``{year}`` (the issue date's
    year); each rendered prefix numbers from 1."""

    model_config = ConfigDict(extra="forbid")

    invoice_number_prefix: Prefix | None = None
    credit_note_number_prefix: Prefix | None = None
    invoice_number_digits: Annotated[int, Field(ge=1, le=12)] | None = None
    default_payment_terms_days: Annotated[int, Field(ge=0, le=365)] | None = None
    business_hours_start: Annotated[int, Field(ge=0, le=23)] | None = None
    business_hours_end: Annotated[int, Field(ge=1, le=24)] | None = None
    business_days: Annotated[list[Weekday], Field(min_length=1, max_length=7)] | None = None

    @field_validator("*", mode="before")
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
    stmt = select(BillingSettings).where(BillingSettings.firm_id == firm_id)
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
    return await record_change(session, principal, settings, before)
