"""What an invoice owes, by status, agrees everywhere: the stored balance the API returns,
the receivables aging, the revenue report and the mark and balance line on the rendered
document. Each case drives a fresh invoice of 100.00 USD through the API."""

import re
from dataclasses import dataclass
from datetime import date

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models import Invoice, InvoiceStatus
from tests.billing_factories import make_invoice
from tests.factories import Actor, make_firm

ISSUED = date(2026, 3, 10)
TOTAL = 10_000


@dataclass(frozen=True)
class Case:
    steps: tuple[tuple[str, dict[str, int]], ...]
    status: InvoiceStatus
    balance: int
    receivable: int
    invoiced: int
    credited: int
    mark: str | None
    balance_label: str


CASES = {
    "open": Case((), InvoiceStatus.open, TOTAL, TOTAL, TOTAL, 0, None, "Balance due"),
    "void": Case((("void", {}),), InvoiceStatus.void, 0, 0, 0, 0, "VOID", "Balance due"),
    "uncollectible": Case(
        (("mark-uncollectible", {}),),
        InvoiceStatus.uncollectible,
        TOTAL,
        0,
        TOTAL,
        0,
        "UNCOLLECTIBLE",
        "Balance written off",
    ),
    "paid": Case(
        (("payments", {"amount": TOTAL}),),
        InvoiceStatus.paid,
        0,
        0,
        TOTAL,
        0,
        "PAID",
        "Balance due",
    ),
    "partially paid": Case(
        (("payments", {"amount": 4_000}),),
        InvoiceStatus.partially_paid,
        6_000,
        6_000,
        TOTAL,
        0,
        "PARTIALLY PAID",
        "Balance due",
    ),
    "credited": Case(
        (("credit-notes", {"amount": TOTAL}),),
        InvoiceStatus.paid,
        0,
        0,
        TOTAL,
        TOTAL,
        "CREDITED",
        "Balance due",
    ),
    "partially credited": Case(
        (("credit-notes", {"amount": 3_000}),),
        InvoiceStatus.partially_paid,
        7_000,
        7_000,
        TOTAL,
        3_000,
        "PARTIALLY CREDITED",
        "Balance due",
    ),
    "partially paid, then written off": Case(
        (("payments", {"amount": 2_500}), ("mark-uncollectible", {})),
        InvoiceStatus.uncollectible,
        7_500,
        0,
        TOTAL,
        0,
        "UNCOLLECTIBLE",
        "Balance written off",
    ),
}


async def apply(http: AsyncClient, actor: Actor, invoice: Invoice, case: Case) -> None:
    for action, amount in case.steps:
        body: dict[str, object] = dict(amount)
        if action == "payments":
            body |= {"currency": "USD", "method": "bank_transfer"}
        response = await http.post(
            f"/v1/invoices/{invoice.id}/{action}", json=body, headers=actor.headers
        )
        assert response.status_code in (200, 201), response.text


def marks(html: str) -> list[str]:
    return re.findall(r'<p class="status-mark[^"]*">([^<]*)</p>', html)


@pytest.mark.parametrize("name", list(CASES))
async def test_balance_reports_and_document_agree(
    client: AsyncClient, db: AsyncSession, name: str
) -> None:
    case = CASES[name]
    actor = await make_firm(db)
    invoice = await make_invoice(db, actor, lines=((1, TOTAL),), issue_date=ISSUED)
    await apply(client, actor, invoice, case)

    read = (await client.get(f"/v1/invoices/{invoice.id}", headers=actor.headers)).json()
    assert (read["status"], read["balance"]) == (case.status, case.balance)

    aging = await client.get(
        "/v1/reports/receivables-aging", params={"as_of": "2026-03-20"}, headers=actor.headers
    )
    totals = {row["currency"]: row["total"] for row in aging.json()["totals"]}
    assert totals.get("USD", 0) == case.receivable

    # Credit notes are dated the day they are issued: the range reaches years ahead.
    revenue = await client.get(
        "/v1/reports/revenue",
        params={"from": "2026-03-01", "to": "2035-12-31"},
        headers=actor.headers,
    )
    rows = revenue.json()["items"]
    invoiced, credited = (sum(row[name] for row in rows) for name in ("invoiced", "credited"))
    assert (invoiced, credited) == (case.invoiced, case.credited)

    html = (await client.get(f"/v1/invoices/{invoice.id}/html", headers=actor.headers)).text
    assert marks(html) == ([case.mark] if case.mark else [])
    due = re.search(r'<tr class="due"><th>([^<]*)</th><td class="num">([^<]*)</td>', html)
    assert due is not None
    assert due.groups() == (case.balance_label, f"{case.balance / 100:,.2f} USD")


async def test_a_void_invoice_cannot_store_a_balance(db: AsyncSession) -> None:
    """The table refuses a void invoice that still owes (migration 0012's constraint)."""
    actor = await make_firm(db)
    invoice = await make_invoice(db, actor, status=InvoiceStatus.void)
    assert invoice.balance == 0
    with pytest.raises(IntegrityError, match="ck_invoices_balance_is_rest"):
        async with db.begin_nested():
            await db.execute(
                text("UPDATE invoices SET balance = total WHERE id = :id"), {"id": invoice.id}
            )
