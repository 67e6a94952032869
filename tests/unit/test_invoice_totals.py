"""The totals function: properties over random invoices, and worked examples of the
rounding (half-even, per line) that docs/billing/invoices.md quotes."""

import uuid
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from services.billing.totals import LineInput, TaxSnapshot, Totals, compute_totals

quantities = st.decimals(min_value=0, max_value=10_000, places=4, allow_nan=False)
prices = st.integers(min_value=0, max_value=10_000_000)
percents = st.decimals(min_value=0, max_value=100, places=4, allow_nan=False)
RATES = [uuid.uuid4() for _ in range(4)]
Options = dict[str, Any]
Drawn = tuple[list[LineInput], Options]


@st.composite
def taxes(draw: st.DrawFn, inclusive: bool | None = None) -> tuple[TaxSnapshot, ...]:
    chosen = draw(st.lists(st.sampled_from(RATES), unique=True, max_size=3))
    return tuple(
        TaxSnapshot(
            tax_rate_id=rate_id,
            name=f"Tax {index}",
            # The same rate always has the same percent and kind within one invoice.
            percent=Decimal(5 * (RATES.index(rate_id) + 1)) + draw(percents) / 100,
            inclusive=draw(st.booleans()) if inclusive is None else inclusive,
        )
        for index, rate_id in enumerate(chosen)
    )


@st.composite
def invoices(draw: st.DrawFn, inclusive: bool | None = None) -> Drawn:
    fixed: dict[uuid.UUID, TaxSnapshot] = {}
    lines = []
    for _ in range(draw(st.integers(min_value=1, max_value=12))):
        line_taxes = tuple(
            fixed.setdefault(tax.tax_rate_id, tax) for tax in draw(taxes(inclusive=inclusive))
        )
        lines.append(LineInput(draw(quantities), draw(prices), line_taxes))
    kind = draw(st.sampled_from([None, "percent", "amount"]))
    value = Decimal(0)
    if kind == "percent":
        value = draw(percents)
    elif kind == "amount":
        value = Decimal(draw(st.integers(min_value=0, max_value=10**11)))
    late_fee = draw(st.integers(min_value=0, max_value=100_000))
    return lines, {"discount_kind": kind, "discount_value": value, "late_fee": late_fee}


def check_invariants(totals: Totals) -> None:
    assert totals.subtotal == sum(line.amount for line in totals.lines)
    assert totals.discount_total == sum(line.discount_amount for line in totals.lines)
    assert totals.tax_total == sum(line.tax_amount for line in totals.lines)
    assert totals.tax_total == sum(tax.amount for tax in totals.taxes)
    exclusive = sum(tax.amount for tax in totals.taxes if not tax.rate.inclusive)
    assert totals.tax_exclusive_total == exclusive <= totals.tax_total
    assert totals.total == (
        totals.subtotal - totals.discount_total + totals.tax_exclusive_total + totals.late_fee
    )
    for line in totals.lines:
        assert 0 <= line.discount_amount <= line.amount
        assert all(tax >= 0 for tax in line.taxes)
    assert 0 <= totals.discount_total <= totals.subtotal
    assert totals.total >= 0


@given(invoices())
def test_totals_are_the_sum_of_their_parts(invoice: Drawn) -> None:
    lines, options = invoice
    check_invariants(compute_totals(lines, **options))


@given(invoices(inclusive=True))
def test_inclusive_taxes_never_change_the_total(invoice: Drawn) -> None:
    lines, options = invoice
    with_taxes = compute_totals(lines, **options)
    without = compute_totals([LineInput(ln.quantity, ln.unit_price) for ln in lines], **options)
    assert with_taxes.total == without.total
    assert with_taxes.tax_exclusive_total == 0
    for taxed, bare in zip(with_taxes.lines, without.lines, strict=True):
        assert taxed.amount - taxed.discount_amount == bare.amount - bare.discount_amount
        assert taxed.tax_amount <= taxed.amount - taxed.discount_amount


@given(invoices(), st.integers(min_value=0, max_value=10**6))
def test_a_late_fee_only_adds_itself(invoice: Drawn, fee: int) -> None:
    lines, options = invoice
    before = compute_totals(lines, **{**options, "late_fee": 0})
    after = compute_totals(lines, **{**options, "late_fee": fee})
    assert after.total == before.total + fee
    assert after.lines == before.lines and after.taxes == before.taxes


def rate(percent: str, inclusive: bool = False) -> TaxSnapshot:
    return TaxSnapshot(uuid.uuid4(), f"{percent}%", Decimal(percent), inclusive)


def test_worked_example_half_even_per_line() -> None:
    # 0.5 x 5 = 2.5 -> 2 and 1.5 x 5 = 7.5 -> 8: half to even, per line.
    totals = compute_totals([LineInput(Decimal("0.5"), 5), LineInput(Decimal("1.5"), 5)])
    assert [line.amount for line in totals.lines] == [2, 8]
    assert totals.subtotal == 10


def test_worked_example_tax_rounded_per_line_not_on_the_sum() -> None:
    # 10% of 5 is 0.5 -> 0 on each line; on the sum 10% of 15 would have been 1.5 -> 2.
    vat = rate("10")
    totals = compute_totals([LineInput(Decimal(1), 5, (vat,))] * 3)
    assert [line.tax_amount for line in totals.lines] == [0, 0, 0]
    assert (totals.tax_total, totals.total) == (0, 15)


def test_worked_example_discount_spread_by_largest_remainder() -> None:
    # 100 off 300 over three equal lines: 33.33 each, the leftover 1 to the first line.
    totals = compute_totals(
        [LineInput(Decimal(1), 100)] * 3, discount_kind="amount", discount_value=Decimal(100)
    )
    assert [line.discount_amount for line in totals.lines] == [34, 33, 33]
    assert totals.total == 200


def test_worked_example_inclusive_and_exclusive_on_one_line() -> None:
    # 12,000 including 20% VAT: VAT = 12,000 x 20 / 120 = 2,000, base 10,000; a 2.5%
    # exclusive city tax on the base adds 250.
    vat, city = rate("20", inclusive=True), rate("2.5")
    totals = compute_totals([LineInput(Decimal(1), 12_000, (vat, city))])
    assert totals.lines[0].taxes == (2_000, 250)
    assert (totals.tax_total, totals.tax_exclusive_total, totals.total) == (2_250, 250, 12_250)
    assert [tax.taxable for tax in totals.taxes] == [10_000, 10_000]


def test_worked_example_percent_discount_capped_and_rounded() -> None:
    # 12.5% of 1,005 = 125.625 -> 126; an amount discount above the subtotal is capped.
    percent = compute_totals(
        [LineInput(Decimal(1), 1_005)], discount_kind="percent", discount_value=Decimal("12.5")
    )
    assert percent.discount_total == 126
    capped = compute_totals(
        [LineInput(Decimal(1), 50)], discount_kind="amount", discount_value=Decimal(80)
    )
    assert (capped.discount_total, capped.total) == (50, 0)
