"""Receivables reports, computed in SQL (GROUP BY + CASE) over the partial indexes made for
them: ``ix_invoices_receivable`` (what is owed, by due date) for the aging, and
``ix_invoices_firm_id_issue_date`` (issued invoices by date) for revenue.

Aging: each receivable invoice's balance (``invoice_status.RECEIVABLE``: open or partially
paid invoices; void invoices owe nothing, written-off ones are bad debt, credit notes are
not receivables) in one bucket by how many days past its due date it is
on ``as_of``: current (not yet due, or due that day), 1-30, 31-60, 61-90, over 90. Per
client and currency, keyset-paginated by client name, plus the firm's totals per currency.

Revenue, per month of the issue date and currency: issued invoices' totals minus issued
credit notes (void ones count for neither), and money received minus refunds by the date
it arrived (credit applied to an invoice is not money received)."""

import base64
import binascii
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import (
    Date,
    Integer,
    Select,
    String,
    case,
    cast,
    func,
    literal,
    literal_column,
    select,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from core.errors import BadRequest
from core.principal import Principal
from models import Client, Invoice, InvoiceKind, InvoiceStatus, Payment, PaymentKind, PaymentMethod
from services.billing.invoice_status import RECEIVABLE
from services.billing.repository import INVOICES, PAYMENTS
from services.clients import CLIENTS
from services.firms import firm_today

BUCKETS = ("current", "days_1_30", "days_31_60", "days_61_90", "days_over_90")
# A revenue report covers at most ten years: its rows are months x currencies.
MAX_REVENUE_DAYS = 3_660
MAX_CURSOR_LENGTH = 400
# Report statements select several computed columns.
Rows = Select[*tuple[Any, ...]]


@dataclass(frozen=True)
class AgingCursor:
    client_name: str
    client_id: uuid.UUID
    currency: str


@dataclass(frozen=True)
class AgingRow:
    client_id: uuid.UUID
    client_name: str
    currency: str
    current: int
    days_1_30: int
    days_31_60: int
    days_61_90: int
    days_over_90: int

    @property
    def total(self) -> int:
        return self.current + self.days_1_30 + self.days_31_60 + self.days_61_90 + self.days_over_90


@dataclass(frozen=True)
class AgingTotal:
    currency: str
    current: int
    days_1_30: int
    days_31_60: int
    days_61_90: int
    days_over_90: int

    @property
    def total(self) -> int:
        return self.current + self.days_1_30 + self.days_31_60 + self.days_61_90 + self.days_over_90


@dataclass(frozen=True)
class AgingReport:
    as_of: date
    rows: list[AgingRow]
    totals: list[AgingTotal]
    next_cursor: str | None


def encode_aging_cursor(row: AgingRow) -> str:
    raw = json.dumps(
        {"n": row.client_name, "i": str(row.client_id), "c": row.currency}, separators=(",", ":")
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_aging_cursor(raw: str) -> AgingCursor:
    """The position a previous page ended at; anything else is a 400 naming ``cursor``."""
    invalid = BadRequest(
        "The cursor is not valid; pass the next_cursor of a previous page unchanged",
        errors=[{"parameter": "cursor", "in": "query", "detail": "not a report position"}],
    )
    if not raw or len(raw) > MAX_CURSOR_LENGTH:
        raise invalid
    try:
        data = json.loads(base64.b64decode(raw + "=" * (-len(raw) % 4), altchars=b"-_"))
        if not isinstance(data, dict) or set(data) != {"n", "i", "c"}:
            raise invalid
        name, id_, currency = data["n"], data["i"], data["c"]
        if not all(isinstance(value, str) for value in (name, id_, currency)):
            raise invalid
        return AgingCursor(client_name=name, client_id=uuid.UUID(id_), currency=currency)
    except (binascii.Error, ValueError) as exc:
        raise invalid from exc


def _buckets(as_of: date) -> list[ColumnElement[Any]]:
    """One SUM(CASE …) per bucket of days past due on ``as_of``."""
    overdue = cast(literal(as_of, Date) - Invoice.due_date, Integer)
    ranges: list[ColumnElement[bool]] = [
        (Invoice.due_date.is_(None)) | (overdue <= 0),
        overdue.between(1, 30),
        overdue.between(31, 60),
        overdue.between(61, 90),
        overdue > 90,
    ]
    return [
        func.coalesce(func.sum(case((when, Invoice.balance), else_=0)), 0).label(name)
        for name, when in zip(BUCKETS, ranges, strict=True)
    ]


def _constant(value: str) -> ColumnElement[str]:
    """One of our own status or kind names written into the SQL rather than bound: the
    planner proves a partial index's predicate only from constants, and a bound value
    may be planned generically."""
    return literal_column(f"'{value}'", String)


def _owed(principal: Principal) -> list[ColumnElement[bool]]:
    # ix_invoices_receivable's predicate, spelled out.
    return [
        INVOICES.owned_by(principal),
        Invoice.status.in_([_constant(status) for status in RECEIVABLE]),
        Invoice.kind == _constant(InvoiceKind.invoice),
    ]


def aging_query(
    principal: Principal, as_of: date, *, limit: int, cursor: AgingCursor | None
) -> Rows:
    """Rows per (client, currency), by client name; one row more than ``limit``, which
    tells whether another page follows."""
    stmt = (
        select(Invoice.client_id, Client.name, Invoice.currency, *_buckets(as_of))
        .join(Client, Client.id == Invoice.client_id)
        .where(*_owed(principal), CLIENTS.owned_by(principal))
    )
    if cursor is not None:
        stmt = stmt.where(
            tuple_(Client.name, Invoice.client_id, Invoice.currency)
            > (cursor.client_name, cursor.client_id, cursor.currency)
        )
    return (
        stmt.group_by(Client.name, Invoice.client_id, Invoice.currency)
        .order_by(Client.name, Invoice.client_id, Invoice.currency)
        .limit(limit + 1)
    )


def aging_totals_query(principal: Principal, as_of: date) -> Rows:
    return (
        select(Invoice.currency, *_buckets(as_of))
        .where(*_owed(principal))
        .group_by(Invoice.currency)
        .order_by(Invoice.currency)
    )


async def receivables_aging(
    session: AsyncSession,
    principal: Principal,
    *,
    as_of: date | None = None,
    limit: int,
    cursor: AgingCursor | None = None,
    totals_only: bool = False,
) -> AgingReport:
    """What clients owe on ``as_of`` (default: today in the firm's time zone), aged. The
    balances are today's; ``as_of`` moves the day they are aged against. ``totals_only``
    leaves out the rows per client, whose page groups every client that owes anything."""
    day = as_of or await firm_today(session, principal)
    fetched = (
        []
        if totals_only
        else (await session.execute(aging_query(principal, day, limit=limit, cursor=cursor))).all()
    )
    rows = [
        AgingRow(
            client_id=row.client_id,
            client_name=row.name,
            currency=row.currency,
            **{name: int(getattr(row, name)) for name in BUCKETS},
        )
        for row in fetched[:limit]
    ]
    totals = [
        AgingTotal(currency=row.currency, **{name: int(getattr(row, name)) for name in BUCKETS})
        for row in await session.execute(aging_totals_query(principal, day))
    ]
    next_cursor = encode_aging_cursor(rows[-1]) if len(fetched) > limit else None
    return AgingReport(as_of=day, rows=rows, totals=totals, next_cursor=next_cursor)


@dataclass(frozen=True)
class RevenueRow:
    month: str
    currency: str
    invoiced: int
    credited: int
    received: int
    refunded: int

    @property
    def net_invoiced(self) -> int:
        return self.invoiced - self.credited

    @property
    def net_received(self) -> int:
        return self.received - self.refunded


@dataclass(frozen=True)
class RevenueReport:
    date_from: date
    date_to: date
    rows: list[RevenueRow]


def _month(column: Any) -> ColumnElement[str]:
    return func.to_char(column, "YYYY-MM")


def revenue_invoices_query(principal: Principal, date_from: date, date_to: date) -> Rows:
    month = _month(Invoice.issue_date).label("month")
    is_invoice = Invoice.kind == InvoiceKind.invoice
    return (
        select(
            month,
            Invoice.currency,
            func.sum(case((is_invoice, Invoice.total), else_=0)).label("invoiced"),
            func.sum(case((is_invoice, 0), else_=Invoice.total)).label("credited"),
        )
        .where(
            INVOICES.owned_by(principal),
            # ix_invoices_firm_id_issue_date's predicate, then what it leaves in that
            # is not revenue.
            Invoice.status != _constant(InvoiceStatus.draft),
            Invoice.status != InvoiceStatus.void,
            Invoice.issue_date.between(date_from, date_to),
        )
        .group_by(month, Invoice.currency)
    )


def revenue_payments_query(principal: Principal, date_from: date, date_to: date) -> Rows:
    month = _month(Payment.received_on).label("month")
    is_payment = Payment.kind == PaymentKind.payment
    return (
        select(
            month,
            Payment.currency,
            func.sum(case((is_payment, Payment.amount), else_=0)).label("received"),
            func.sum(case((is_payment, 0), else_=Payment.amount)).label("refunded"),
        )
        .where(
            PAYMENTS.owned_by(principal),
            Payment.method != PaymentMethod.credit,
            Payment.received_on.between(date_from, date_to),
        )
        .group_by(month, Payment.currency)
    )


async def revenue(
    session: AsyncSession,
    principal: Principal,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
) -> RevenueReport:
    """Per month and currency, oldest first. Without dates: the twelve months up to today
    in the firm's time zone (this month included)."""
    if date_to is None:
        date_to = await firm_today(session, principal)
    if date_from is None:
        start = date_to.replace(day=1)
        year, month = divmod(start.year * 12 + start.month - 1 - 11, 12)
        date_from = date(year, month + 1, 1)
    if date_from > date_to:
        raise BadRequest(
            "The date range is empty: from must not be after to",
            errors=[{"parameter": "from", "in": "query", "detail": "after to"}],
        )
    if (date_to - date_from).days > MAX_REVENUE_DAYS:
        raise BadRequest(
            "A revenue report covers at most ten years",
            errors=[{"parameter": "from", "in": "query", "detail": "more than ten years back"}],
        )
    merged: dict[tuple[str, str], dict[str, int]] = {}
    for stmt, names in (
        (revenue_invoices_query(principal, date_from, date_to), ("invoiced", "credited")),
        (revenue_payments_query(principal, date_from, date_to), ("received", "refunded")),
    ):
        for row in await session.execute(stmt):
            sums = merged.setdefault((row.month, row.currency), {})
            for name in names:
                sums[name] = int(getattr(row, name))
    rows = [
        RevenueRow(
            month=month,
            currency=currency,
            invoiced=sums.get("invoiced", 0),
            credited=sums.get("credited", 0),
            received=sums.get("received", 0),
            refunded=sums.get("refunded", 0),
        )
        for (month, currency), sums in sorted(merged.items())
    ]
    return RevenueReport(date_from=date_from, date_to=date_to, rows=rows)


def csv_cell(value: object) -> str:
    """A cell a spreadsheet shows as text: a client's name starting with =, +, - or @
    would otherwise run as a formula."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_rows(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[list[str]]:
    return [list(header), *([csv_cell(value) for value in row] for row in rows)]
