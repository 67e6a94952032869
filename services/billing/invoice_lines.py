"""An invoice's lines and discount as callers give them, and how they become stored lines
and totals. Totals come only from ``services.billing.totals.compute_totals``."""

import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.decimals import decimal_schema
from core.errors import Unprocessable
from core.principal import Principal
from models import DiscountKind, Invoice, InvoiceLine
from services.billing.invoice_status import balance_due
from services.billing.repository import INVOICE_LINES, TAX_RATES
from services.billing.tax_rates import rates_by_id, snapshot
from services.billing.totals import LineInput, TaxSnapshot, Totals, compute_totals

MAX_LINES = 500
MAX_QUANTITY = Decimal(1_000_000)
MAX_UNIT_PRICE = 10**12
# Far beyond any real invoice and far below bigint, whatever the lines multiply to.
MAX_TOTAL = 10**15

Description = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class LineFields(BaseModel):
    """``quantity`` may have up to 4 decimals; ``unit_price`` is in minor units."""

    model_config = ConfigDict(extra="forbid")

    description: Description
    quantity: Annotated[
        Decimal,
        Field(ge=0, le=MAX_QUANTITY, decimal_places=4),
        decimal_schema(maximum=int(MAX_QUANTITY), places=4),
    ]
    unit_price: Annotated[int, Field(ge=0, le=MAX_UNIT_PRICE)]
    tax_rate_ids: Annotated[list[uuid.UUID], Field(max_length=10)] = []

    @model_validator(mode="after")
    def _distinct_taxes(self) -> Self:
        if len(set(self.tax_rate_ids)) != len(self.tax_rate_ids):
            raise ValueError("a tax rate may apply to a line only once")
        return self


class Discount(BaseModel):
    """A percentage of the subtotal (0-100, up to 4 decimals) or an amount in minor units
    (capped at the subtotal)."""

    model_config = ConfigDict(extra="forbid")

    kind: DiscountKind
    value: Annotated[
        Decimal, Field(ge=0, le=MAX_TOTAL), decimal_schema(maximum=MAX_TOTAL, places=4)
    ]

    @model_validator(mode="after")
    def _value_fits_kind(self) -> Self:
        if self.kind == DiscountKind.percent:
            if self.value > 100 or self.value != self.value.quantize(Decimal("0.0001")):
                raise ValueError("a percent discount is 0 to 100 with at most 4 decimals")
        elif self.value != self.value.to_integral_value():
            raise ValueError("an amount discount is a whole number of minor units")
        return self


Lines = Annotated[list[LineFields], Field(min_length=1, max_length=MAX_LINES)]


async def snapshot_lines(
    session: AsyncSession, principal: Principal, lines: Sequence[LineFields]
) -> list[LineInput]:
    """The lines with their tax rates' current values: 404 for a rate not of the firm,
    422 for an archived one."""
    wanted = {rate_id for line in lines for rate_id in line.tax_rate_ids}
    rates = await rates_by_id(session, principal, wanted)
    missing: list[str] = []
    archived: list[dict[str, Any]] = []
    inputs: list[LineInput] = []
    for index, line in enumerate(lines):
        taxes: list[TaxSnapshot] = []
        for position, rate_id in enumerate(line.tax_rate_ids):
            pointer = f"/lines/{index}/tax_rate_ids/{position}"
            rate = rates.get(rate_id)
            if rate is None:
                missing.append(pointer)
            elif rate.archived_at is not None:
                archived.append({"pointer": pointer, "detail": "this tax rate is archived"})
            else:
                taxes.append(snapshot(rate))
        inputs.append(LineInput(quantity=line.quantity, unit_price=line.unit_price, taxes=taxes))
    if missing:
        raise TAX_RATES.not_found(*missing)
    if archived:
        raise Unprocessable("Archived tax rates cannot be applied", errors=archived)
    return inputs


def totals_for(
    invoice: Invoice, inputs: Sequence[LineInput], *, late_fee: int | None = None
) -> Totals:
    totals = compute_totals(
        inputs,
        discount_kind=invoice.discount_kind,
        discount_value=Decimal(invoice.discount_value),
        late_fee=invoice.late_fee if late_fee is None else late_fee,
    )
    if totals.total > MAX_TOTAL or totals.subtotal > MAX_TOTAL:
        raise Unprocessable(
            "The invoice total is beyond what can be billed",
            errors=[{"pointer": "/lines", "detail": f"total exceeds {MAX_TOTAL} minor units"}],
        )
    return totals


def store_totals(invoice: Invoice, totals: Totals) -> None:
    """Write the invoice-level totals; the balance is what is still owed."""
    invoice.subtotal = totals.subtotal
    invoice.discount_total = totals.discount_total
    invoice.tax_total = totals.tax_total
    invoice.tax_exclusive_total = totals.tax_exclusive_total
    invoice.late_fee = totals.late_fee
    invoice.total = totals.total
    invoice.tax_breakdown = totals.breakdown()
    invoice.balance = balance_due(invoice)


async def replace_lines(
    session: AsyncSession,
    invoice: Invoice,
    lines: Sequence[LineFields],
    inputs: Sequence[LineInput],
) -> list[InvoiceLine]:
    """Replace the invoice's lines and totals (a draft's, or a new invoice's)."""
    totals = totals_for(invoice, inputs)
    await session.execute(delete(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id))
    stored = [
        InvoiceLine(
            firm_id=invoice.firm_id,
            invoice_id=invoice.id,
            position=position,
            description=fields.description,
            quantity=line.quantity,
            unit_price=line.unit_price,
            taxes=[tax.as_json() for tax in line.taxes],
            amount=line_totals.amount,
            discount_amount=line_totals.discount_amount,
            tax_amount=line_totals.tax_amount,
        )
        for position, (fields, line, line_totals) in enumerate(
            zip(lines, inputs, totals.lines, strict=True)
        )
    ]
    session.add_all(stored)
    store_totals(invoice, totals)
    return stored


async def lines_of(session: AsyncSession, invoice: Invoice) -> list[InvoiceLine]:
    rows = await session.scalars(
        select(InvoiceLine)
        .where(INVOICE_LINES.owned_by(invoice.firm_id), InvoiceLine.invoice_id == invoice.id)
        .order_by(InvoiceLine.position)
    )
    return list(rows)


def inputs_of(lines: Sequence[InvoiceLine]) -> list[LineInput]:
    """Stored lines back as totals input, with their snapshotted (not current) rates."""
    return [
        LineInput(
            quantity=Decimal(line.quantity),
            unit_price=line.unit_price,
            taxes=tuple(TaxSnapshot.from_json(tax) for tax in line.taxes),
        )
        for line in lines
    ]
