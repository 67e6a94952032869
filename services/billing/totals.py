"""The one function that computes an invoice's totals from its lines.

Rounding, in this order, each step half-even to a minor unit:
1. a line's amount is quantity x unit price;
2. the invoice discount (a percentage of the subtotal, or a fixed amount capped at the
   subtotal) is spread over the lines in proportion to their amounts, the remainder going
   to the largest fractional shares first (earlier lines win ties), so the shares add up
   to the discount exactly;
3. per line, each inclusive tax is taken out of the discounted line amount
   (amount x p / (100 + sum of inclusive percentages)), and each exclusive tax is added on
   the rest (the line's pre-tax base). Taxes are rounded per line, never on the sum.
So: total = subtotal - discount + exclusive taxes + late fee, with every part an integer.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

HUNDRED = Decimal(100)


def round_minor(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


@dataclass(frozen=True)
class TaxSnapshot:
    """A tax rate as it was when applied to a line."""

    tax_rate_id: uuid.UUID
    name: str
    percent: Decimal
    inclusive: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "tax_rate_id": str(self.tax_rate_id),
            "name": self.name,
            "percent": str(self.percent),
            "inclusive": self.inclusive,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "TaxSnapshot":
        return cls(
            tax_rate_id=uuid.UUID(str(data["tax_rate_id"])),
            name=str(data["name"]),
            percent=Decimal(str(data["percent"])),
            inclusive=bool(data["inclusive"]),
        )


@dataclass(frozen=True)
class LineInput:
    quantity: Decimal
    unit_price: int
    taxes: Sequence[TaxSnapshot] = ()


@dataclass(frozen=True)
class LineTotals:
    amount: int
    discount_amount: int
    # Per rate, in the order of the line's taxes.
    taxes: tuple[int, ...]

    @property
    def tax_amount(self) -> int:
        return sum(self.taxes)


@dataclass(frozen=True)
class TaxTotal:
    rate: TaxSnapshot
    # What the rate was charged on (the lines' pre-tax bases) and what it came to.
    taxable: int
    amount: int

    def as_json(self) -> dict[str, Any]:
        return {**self.rate.as_json(), "taxable": self.taxable, "amount": self.amount}


@dataclass(frozen=True)
class Totals:
    lines: tuple[LineTotals, ...]
    subtotal: int
    discount_total: int
    tax_total: int
    tax_exclusive_total: int
    late_fee: int
    total: int
    taxes: tuple[TaxTotal, ...] = field(default=())

    def breakdown(self) -> list[dict[str, Any]]:
        return [tax.as_json() for tax in self.taxes]


def discount_amount(subtotal: int, kind: str | None, value: Decimal) -> int:
    """The invoice discount in minor units: never more than the subtotal."""
    if kind is None or value == 0:
        return 0
    if kind == "percent":
        return min(subtotal, round_minor(Decimal(subtotal) * value / HUNDRED))
    if kind == "amount":
        return min(subtotal, round_minor(value))
    raise ValueError(f"unknown discount kind {kind!r}")


def _spread(total: int, weights: Sequence[int]) -> list[int]:
    """``total`` split in proportion to ``weights`` by the largest-remainder method."""
    whole = sum(weights)
    if total == 0 or whole == 0:
        return [0] * len(weights)
    shares = [total * w // whole for w in weights]
    remainders = [(total * w % whole, -index) for index, w in enumerate(weights)]
    for _, negative_index in sorted(remainders, reverse=True)[: total - sum(shares)]:
        shares[-negative_index] += 1
    return shares


def _line_taxes(net: int, taxes: Sequence[TaxSnapshot]) -> tuple[tuple[int, ...], int]:
    """Each tax of a line whose discounted amount is ``net``, and the line's pre-tax base."""
    inclusive_percent = sum((t.percent for t in taxes if t.inclusive), Decimal(0))
    amounts: list[int | None] = [None] * len(taxes)
    for index, tax in enumerate(taxes):
        if tax.inclusive:
            amounts[index] = round_minor(Decimal(net) * tax.percent / (HUNDRED + inclusive_percent))
    base = net - sum(a for a in amounts if a is not None)
    for index, tax in enumerate(taxes):
        if not tax.inclusive:
            amounts[index] = round_minor(Decimal(base) * tax.percent / HUNDRED)
    return tuple(a if a is not None else 0 for a in amounts), base


def compute_totals(
    lines: Sequence[LineInput],
    *,
    discount_kind: str | None = None,
    discount_value: Decimal = Decimal(0),
    late_fee: int = 0,
) -> Totals:
    amounts = [round_minor(line.quantity * line.unit_price) for line in lines]
    subtotal = sum(amounts)
    discount = discount_amount(subtotal, discount_kind, discount_value)
    shares = _spread(discount, amounts)
    line_totals: list[LineTotals] = []
    by_rate: dict[uuid.UUID, tuple[TaxSnapshot, int, int]] = {}
    exclusive = 0
    for line, amount, share in zip(lines, amounts, shares, strict=True):
        taxes, base = _line_taxes(amount - share, line.taxes)
        line_totals.append(LineTotals(amount=amount, discount_amount=share, taxes=taxes))
        for tax, tax_amount in zip(line.taxes, taxes, strict=True):
            _, taxable, so_far = by_rate.get(tax.tax_rate_id, (tax, 0, 0))
            by_rate[tax.tax_rate_id] = (tax, taxable + base, so_far + tax_amount)
            if not tax.inclusive:
                exclusive += tax_amount
    tax_total = sum(line.tax_amount for line in line_totals)
    return Totals(
        lines=tuple(line_totals),
        subtotal=subtotal,
        discount_total=discount,
        tax_total=tax_total,
        tax_exclusive_total=exclusive,
        late_fee=late_fee,
        total=subtotal - discount + exclusive + late_fee,
        taxes=tuple(
            TaxTotal(rate=rate, taxable=taxable, amount=amount)
            for rate, taxable, amount in by_rate.values()
        ),
    )
