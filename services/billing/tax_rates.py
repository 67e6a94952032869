"""The firm's tax rates. Rates are archived, never deleted, and a line keeps a snapshot of
the rates it was given, so changing or archiving a rate never changes an issued invoice.
A name is unique among the firm's active rates."""

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from sqlalchemy import Select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core.decimals import decimal_schema
from core.errors import Conflict
from core.not_null import NeverNull
from core.pagination import Page, PageParams, keyset, to_page
from core.principal import Principal
from models import TaxRate
from services import audit
from services.billing.repository import TAX_RATES
from services.billing.totals import TaxSnapshot
from services.patches import apply_patch

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Percent = Annotated[
    Decimal,
    Field(ge=0, le=100, max_digits=7, decimal_places=4),
    decimal_schema(maximum=100, places=4),
]


class TaxRateFields(BaseModel):
    """``inclusive``: line prices already contain the tax; otherwise it is added on top."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    percent: Percent
    inclusive: bool = False


class TaxRatePatch(BaseModel):
    """Only the fields present change. Invoices already issued keep the old values."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[Name | None, NeverNull] = None
    percent: Annotated[Percent | None, NeverNull] = None
    inclusive: Annotated[bool | None, NeverNull] = None

    @field_validator("*", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may not be null")
        return value


def summarize(rate: TaxRate) -> dict[str, Any]:
    return {
        "name": rate.name,
        "percent": str(rate.percent),
        "inclusive": rate.inclusive,
        "archived_at": rate.archived_at.isoformat() if rate.archived_at else None,
    }


def snapshot(rate: TaxRate) -> TaxSnapshot:
    return TaxSnapshot(
        tax_rate_id=rate.id, name=rate.name, percent=Decimal(rate.percent), inclusive=rate.inclusive
    )


def _duplicate_name(name: str) -> Conflict:
    return Conflict(
        f"An active tax rate is already named {name!r}",
        errors=[{"pointer": "/name", "detail": "already used by an active tax rate"}],
    )


async def _flush_unique(session: AsyncSession, name: str) -> None:
    """Flush in a savepoint so a duplicate name is a 409 and the transaction lives on."""
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        if "uq_tax_rates_firm_id_name" in str(exc.orig):
            raise _duplicate_name(name) from exc
        raise


async def create_tax_rate(
    session: AsyncSession, principal: Principal, *, fields: TaxRateFields
) -> TaxRate:
    rate = TaxRate(
        firm_id=principal.firm_id,
        **fields.model_dump(),
    )
    session.add(rate)
    await _flush_unique(session, fields.name)
    await session.refresh(rate)
    await audit.record(
        session,
        principal,
        action="tax_rate.created",
        record_type="tax_rate",
        record_id=rate.id,
        after=summarize(rate),
    )
    return rate


async def get_tax_rate(
    session: AsyncSession, principal: Principal, rate_id: uuid.UUID, *, lock: bool = False
) -> TaxRate:
    return await TAX_RATES.get_or_404(session, principal, rate_id, lock=lock)


async def _changed(
    session: AsyncSession, principal: Principal, rate: TaxRate, action: str, before: dict[str, Any]
) -> TaxRate:
    await _flush_unique(session, rate.name)
    await session.refresh(rate)
    await audit.record_changes(
        session,
        principal,
        action=action,
        record_type="tax_rate",
        record_id=rate.id,
        before=before,
        after=summarize(rate),
    )
    return rate


async def update_tax_rate(
    session: AsyncSession, principal: Principal, rate_id: uuid.UUID, *, patch: TaxRatePatch
) -> TaxRate:
    rate = await get_tax_rate(session, principal, rate_id, lock=True)
    if rate.archived_at is not None:
        raise Conflict("An archived tax rate cannot change; create a new one")
    await apply_patch(
        session,
        principal,
        rate,
        patch,
        record_type="tax_rate",
        summarize=summarize,
        write=lambda: _flush_unique(session, rate.name),
        reload_all=True,
    )
    return rate


async def archive_tax_rate(
    session: AsyncSession, principal: Principal, rate_id: uuid.UUID
) -> TaxRate:
    """Archiving twice changes nothing the second time."""
    rate = await get_tax_rate(session, principal, rate_id, lock=True)
    if rate.archived_at is not None:
        return rate
    before = summarize(rate)
    rate.archived_at = datetime.now(UTC)
    return await _changed(session, principal, rate, "tax_rate.archived", before)


def tax_rates_query(
    principal: Principal, *, include_archived: bool, page: PageParams
) -> Select[TaxRate]:
    """Newest first, over the firm's created_at index."""
    stmt = TAX_RATES.select(principal)
    if not include_archived:
        stmt = stmt.where(TaxRate.archived_at.is_(None))
    return keyset(stmt, TaxRate.created_at, TaxRate.id, page)


async def list_tax_rates(
    session: AsyncSession, principal: Principal, *, include_archived: bool, page: PageParams
) -> Page[TaxRate]:
    query = tax_rates_query(principal, include_archived=include_archived, page=page)
    rows = (await session.scalars(query)).all()
    return to_page(rows, page)


async def rates_by_id(
    session: AsyncSession, principal: Principal, ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, TaxRate]:
    """The firm's rates among ``ids`` (archived ones included: the caller decides)."""
    wanted = set(ids)
    if not wanted:
        return {}
    rows = await session.scalars(TAX_RATES.select(principal).where(TaxRate.id.in_(wanted)))
    return {rate.id: rate for rate in rows}
