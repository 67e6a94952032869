"""Receivables aging (each bucket's boundaries, what counts as owed, per client and
currency, pages, CSV) and revenue by month (credit notes, refunds, applied credit and
void invoices), through the API."""

import csv
import io
import uuid
from datetime import date, timedelta
from typing import Any

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import scope_to_firm
from core.roles import Role
from models import InvoiceStatus
from services import firms
from services.billing import payments
from tests.billing_factories import make_client, make_invoice
from tests.factories import Actor, add_user, make_firm, principal_of
from tests.integration.billing.test_payments import pay, post_payment, refund
from tests.problems import assert_problem

AS_OF = date(2026, 6, 30)
AGING = "/v1/reports/receivables-aging"
REVENUE = "/v1/reports/revenue"
ZERO = {"current": 0, "days_1_30": 0, "days_31_60": 0, "days_61_90": 0, "days_over_90": 0}


def buckets(**amounts: int) -> dict[str, int]:
    result = {**ZERO, **amounts}
    return {**result, "total": sum(result.values())}


async def owed(
    db: AsyncSession, actor: Actor, client_id: uuid.UUID, days_overdue: int, amount: int, **kw: Any
) -> None:
    due = AS_OF - timedelta(days=days_overdue)
    await make_invoice(
        db,
        actor,
        client_id=client_id,
        lines=((1, amount),),
        issue_date=due - timedelta(days=30),
        due_date=due,
        **kw,
    )


async def test_aging_buckets_and_their_boundaries(client: AsyncClient, db: AsyncSession) -> None:
    actor = await make_firm(db)
    staff = await add_user(db, actor, Role.staff)
    alpha = await make_client(db, actor, name="Alpha Ltd")
    beta = await make_client(db, actor, name="Beta GmbH")
    # A distinct power of two per invoice: each bucket's sum names its invoices.
    for power, days in enumerate((-5, 0, 1, 30, 31, 60, 61, 90, 91)):
        await owed(db, actor, alpha.id, days, 100 * 2**power)
    # Owed nothing: paid, void, draft, written off.
    for status in (
        InvoiceStatus.paid,
        InvoiceStatus.void,
        InvoiceStatus.draft,
        InvoiceStatus.uncollectible,
    ):
        await owed(db, actor, alpha.id, 45, 99_999, status=status)
    partly = await make_invoice(
        db, actor, client_id=beta.id, lines=((1, 1_000),), due_date=AS_OF - timedelta(days=10)
    )
    await pay(db, actor, partly, 400)
    await owed(db, actor, beta.id, -1, 500, currency="EUR")
    other = await make_firm(db, "Other")
    await owed(db, other, (await make_client(db, other)).id, 10, 7_777)

    response = await client.get(AGING, params={"as_of": "2026-06-30"}, headers=staff.headers)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["as_of"] == "2026-06-30" and body["next_cursor"] is None
    rows = [
        (row["client_name"], row["currency"], {k: row[k] for k in (*ZERO, "total")})
        for row in body["items"]
    ]
    assert rows == [
        (
            "Alpha Ltd",
            "USD",
            buckets(
                current=100 + 200,
                days_1_30=400 + 800,
                days_31_60=1_600 + 3_200,
                days_61_90=6_400 + 12_800,
                days_over_90=25_600,
            ),
        ),
        ("Beta GmbH", "EUR", buckets(current=500)),
        ("Beta GmbH", "USD", buckets(days_1_30=600)),
    ]
    assert body["items"][0]["client_id"] == str(alpha.id)
    totals = {t["currency"]: {k: t[k] for k in (*ZERO, "total")} for t in body["totals"]}
    assert totals == {
        "EUR": buckets(current=500),
        "USD": buckets(
            current=300, days_1_30=1_800, days_31_60=4_800, days_61_90=19_200, days_over_90=25_600
        ),
    }

    # A day later every invoice is a day older: 0 -> 1-30, 30 -> 31-60, 90 -> over 90.
    later = await client.get(AGING, params={"as_of": "2026-07-01"}, headers=staff.headers)
    alpha_row = later.json()["items"][0]
    assert (alpha_row["current"], alpha_row["days_1_30"]) == (100, 200 + 400)
    assert (alpha_row["days_31_60"], alpha_row["days_61_90"]) == (800 + 1_600, 3_200 + 6_400)
    assert alpha_row["days_over_90"] == 12_800 + 25_600


async def test_aging_pages_csv_and_default_day(client: AsyncClient, db: AsyncSession) -> None:
    actor = await make_firm(db)
    names = ['=HYPERLINK("http://evil")', "Acme", "Bolt"]
    for index, name in enumerate(names):
        row_client = await make_client(db, actor, name=name)
        await owed(db, actor, row_client.id, 5, 1_000 * (index + 1))

    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"as_of": "2026-06-30", "limit": 1}
        if cursor is not None:
            params["cursor"] = cursor
        page = (await client.get(AGING, params=params, headers=actor.headers)).json()
        seen.extend(row["client_name"] for row in page["items"])
        assert len(page["totals"]) == 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(names)

    as_csv = await client.get(
        AGING, params={"as_of": "2026-06-30", "format": "csv"}, headers=actor.headers
    )
    assert as_csv.status_code == 200
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert "receivables-aging-2026-06-30.csv" in as_csv.headers["content-disposition"]
    table = list(csv.reader(io.StringIO(as_csv.text)))
    assert table[0] == [
        "client_id",
        "client_name",
        "currency",
        "current",
        "days_1_30",
        "days_31_60",
        "days_61_90",
        "days_over_90",
        "total",
    ]
    assert [(row[1], row[4], row[8]) for row in table[1:]] == [
        ('\'=HYPERLINK("http://evil")', "1000", "1000"),
        ("Acme", "2000", "2000"),
        ("Bolt", "3000", "3000"),
    ]
    by_accept = await client.get(
        AGING,
        params={"as_of": "2026-06-30", "limit": 2},
        headers={**actor.headers, "Accept": "text/csv"},
    )
    assert by_accept.headers["content-type"].startswith("text/csv")
    assert len(list(csv.reader(io.StringIO(by_accept.text)))) == 3
    assert by_accept.headers["Next-Cursor"]

    today = await client.get(AGING, headers=actor.headers)
    await scope_to_firm(db, actor.firm.id)
    assert today.json()["as_of"] == (await firms.firm_today(db, principal_of(actor))).isoformat()


async def test_aging_totals_only(client: AsyncClient, db: AsyncSession) -> None:
    actor = await make_firm(db)
    for name, amount in (("Acme", 1_000), ("Bolt", 2_500)):
        row_client = await make_client(db, actor, name=name)
        await owed(db, actor, row_client.id, 45, amount)
    params: dict[str, str | int] = {"as_of": "2026-06-30", "limit": 1}
    full = (await client.get(AGING, params=params, headers=actor.headers)).json()
    only = {**params, "totals_only": "true"}
    totals = await client.get(AGING, params=only, headers=actor.headers)
    assert totals.status_code == 200, totals.text
    assert totals.json() == {**full, "items": [], "next_cursor": None}
    assert totals.json()["totals"] == [
        {"currency": actor.firm.default_currency, **buckets(days_31_60=3_500)}
    ]
    bad = await client.get(AGING, params={"totals_only": "maybe"}, headers=actor.headers)
    assert assert_problem(bad, 422)["errors"][0]["parameter"] == "totals_only"


async def test_revenue_by_month(client: AsyncClient, db: AsyncSession) -> None:
    actor = await make_firm(db)
    customer = await make_client(db, actor)
    january = await make_invoice(
        db, actor, client_id=customer.id, lines=((1, 10_000),), issue_date=date(2025, 1, 20)
    )
    await make_invoice(
        db, actor, client_id=customer.id, lines=((1, 5_000),), issue_date=date(2025, 2, 3)
    )
    await make_invoice(
        db,
        actor,
        client_id=customer.id,
        lines=((1, 3_000),),
        issue_date=date(2025, 2, 28),
        currency="EUR",
    )
    await make_invoice(
        db, actor, lines=((1, 9_999),), issue_date=date(2025, 1, 5), status=InvoiceStatus.void
    )
    await make_invoice(db, actor, lines=((1, 9_999),), status=InvoiceStatus.draft)
    payment = await post_payment(
        client, actor, january, amount=12_000, received_on="2025-01-31", method="check"
    )
    note = await client.post(
        f"/v1/invoices/{january.id}/credit-notes", json={"amount": 1_000}, headers=actor.headers
    )
    assert note.status_code == 201
    await scope_to_firm(db, actor.firm.id)
    stored = await payments.get_payment(db, principal_of(actor), uuid.UUID(payment["id"]))
    await refund(db, actor, stored, 500)
    # Spending credit moves no money: not revenue received.
    await scope_to_firm(db, actor.firm.id)
    february = await make_invoice(
        db, actor, client_id=customer.id, lines=((1, 700),), issue_date=date(2025, 2, 10)
    )
    await scope_to_firm(db, actor.firm.id)
    await payments.apply_credit(db, principal_of(actor), invoice_id=february.id, amount=700)
    await db.commit()
    today = await firms.firm_today(db, principal_of(actor))

    response = await client.get(
        REVENUE, params={"from": "2025-01-01", "to": today.isoformat()}, headers=actor.headers
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["from"], body["to"]) == ("2025-01-01", today.isoformat())
    this_month = today.strftime("%Y-%m")
    assert body["items"] == [
        {
            "month": "2025-01",
            "currency": "USD",
            "invoiced": 10_000,
            "credited": 0,
            "net_invoiced": 10_000,
            "received": 12_000,
            "refunded": 0,
            "net_received": 12_000,
        },
        {
            "month": "2025-02",
            "currency": "EUR",
            "invoiced": 3_000,
            "credited": 0,
            "net_invoiced": 3_000,
            "received": 0,
            "refunded": 0,
            "net_received": 0,
        },
        {
            "month": "2025-02",
            "currency": "USD",
            "invoiced": 5_700,
            "credited": 0,
            "net_invoiced": 5_700,
            "received": 0,
            "refunded": 0,
            "net_received": 0,
        },
        {
            "month": this_month,
            "currency": "USD",
            "invoiced": 0,
            "credited": 1_000,
            "net_invoiced": -1_000,
            "received": 0,
            "refunded": 500,
            "net_received": -500,
        },
    ]

    february_only = await client.get(
        REVENUE,
        params={"from": "2025-02-01", "to": "2025-02-28", "format": "csv"},
        headers=actor.headers,
    )
    table = list(csv.reader(io.StringIO(february_only.text)))
    assert table[0][:3] == ["month", "currency", "invoiced"]
    assert [row[:3] for row in table[1:]] == [
        ["2025-02", "EUR", "3000"],
        ["2025-02", "USD", "5700"],
    ]

    default = (await client.get(REVENUE, headers=actor.headers)).json()
    assert default["to"] == today.isoformat()
    assert date.fromisoformat(default["from"]).day == 1
    assert [row["month"] for row in default["items"]] == [this_month]


async def test_report_4xx(client: AsyncClient, db: AsyncSession) -> None:
    actor = await make_firm(db)
    builder = await add_user(db, actor, Role.builder)

    for url in (AGING, REVENUE):
        assert_problem(await client.get(url), 401)
        assert_problem(await client.get(url, headers=builder.headers), 403)
        assert_problem(await client.get(url, params={"format": "xml"}, headers=actor.headers), 422)
    for params in ({"as_of": "30/06/2026"}, {"limit": 0}, {"limit": 101}):
        assert_problem(await client.get(AGING, params=params, headers=actor.headers), 422)
    for cursor in ("garbage", "eyJ4IjoxfQ", "x" * 500):
        bad = await client.get(AGING, params={"cursor": cursor}, headers=actor.headers)
        assert assert_problem(bad, 400)["errors"][0]["parameter"] == "cursor"
    assert_problem(
        await client.get(REVENUE, params={"from": "2025-13-01"}, headers=actor.headers), 422
    )
    backwards = await client.get(
        REVENUE, params={"from": "2025-02-01", "to": "2025-01-01"}, headers=actor.headers
    )
    assert assert_problem(backwards, 400)["errors"][0]["parameter"] == "from"
    too_long = await client.get(
        REVENUE, params={"from": "2010-01-01", "to": "2025-01-01"}, headers=actor.headers
    )
    assert assert_problem(too_long, 400)["errors"][0]["parameter"] == "from"
