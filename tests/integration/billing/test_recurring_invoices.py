"""Recurring invoices through the API: create (the workflow start goes to the outbox),
list, get, patch, pause / resume / end (each a signal through the outbox), the preview
over a DST change and a month end, and every 4xx path."""

import uuid
from decimal import Decimal
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import scope_to_firm
from core.principal import Principal
from core.roles import Role
from models import OutboxMessage
from services.billing import tax_rates
from services.billing.tax_rates import TaxRateFields
from tests.audit import audit_actions
from tests.billing_factories import make_client
from tests.factories import Actor, add_user, make_firm
from tests.problems import assert_problem, pointers
from workflows.billing.recurring.contracts import WORKFLOW_NAME, workflow_id

LINES = [{"description": "Monthly bookkeeping", "quantity": "1", "unit_price": 45_000}]
# Far enough ahead to stay in the future; Berlin springs forward on 2099-03-29.
SPRING = "2099-03-28T09:00:00"


async def body(db: AsyncSession, actor: Actor, **overrides: Any) -> dict[str, Any]:
    client = await make_client(db, actor)
    return {
        "client_id": str(client.id),
        "template": {"lines": LINES, "payment_terms_days": 14, "notes": "Thank you"},
        "rrule": "FREQ=MONTHLY;BYMONTHDAY=-1",
        "time_zone": "Europe/Berlin",
        "starts_at_local": "2099-01-01T09:00:00",
    } | overrides


async def create(http: AsyncClient, actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
    response = await http.post("/v1/recurring-invoices", json=data, headers=actor.headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def messages(db: AsyncSession, actor: Actor, recurring_id: str) -> list[dict[str, Any]]:
    await scope_to_firm(db, actor.firm.id)
    rows = await db.scalars(
        select(OutboxMessage)
        .where(
            OutboxMessage.firm_id == actor.firm.id,
            OutboxMessage.dedupe_key.contains(workflow_id(uuid.UUID(recurring_id))),
        )
        .order_by(OutboxMessage.created_at, OutboxMessage.id)
    )
    return [{"kind": m.kind, **m.payload} for m in rows]


async def test_create_stores_the_schedule_and_starts_the_workflow_through_the_outbox(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    data = await body(db, owner, rrule="rrule:freq=monthly;bymonthday=-1", currency="EUR")
    created = await create(client, owner, data)
    assert created["status"] == "active"
    assert created["rrule"] == "FREQ=MONTHLY;BYMONTHDAY=-1"
    assert created["currency"] == "EUR"
    assert created["starts_at_local"] == "2099-01-01T09:00:00"
    assert created["template"]["lines"][0]["unit_price"] == 45_000
    assert created["last_occurrence_date"] is None
    (start,) = await messages(db, owner, created["id"])
    assert start["kind"] == "start_workflow"
    assert start["workflow"] == WORKFLOW_NAME
    assert start["workflow_id"] == f"recurring-invoice-{created['id']}"
    assert start["arg"]["recurring_invoice_id"] == created["id"]
    assert start["arg"]["not_before"] is not None
    assert await audit_actions(db, owner.firm.id, record_id=created["id"]) == [
        "recurring_invoice.created"
    ]

    fetched = await client.get(f"/v1/recurring-invoices/{created['id']}", headers=owner.headers)
    assert fetched.status_code == 200 and fetched.json() == created


async def test_time_zone_and_currency_default_to_the_firms(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    data = await body(db, owner)
    del data["time_zone"]
    created = await create(client, owner, data)
    assert created["time_zone"] == owner.firm.time_zone
    assert created["currency"] == owner.firm.default_currency


async def test_preview_keeps_local_time_across_dst_and_month_ends(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    daily = await create(
        client, owner, await body(db, owner, rrule="FREQ=DAILY", starts_at_local=SPRING)
    )
    response = await client.get(
        f"/v1/recurring-invoices/{daily['id']}/preview", params={"n": 3}, headers=owner.headers
    )
    assert response.status_code == 200, response.text
    preview = response.json()
    assert preview["time_zone"] == "Europe/Berlin"
    assert [(o["occurrence_date"], o["local"], o["at"]) for o in preview["occurrences"]] == [
        ("2099-03-28", "2099-03-28T09:00:00", "2099-03-28T08:00:00Z"),
        ("2099-03-29", "2099-03-29T09:00:00", "2099-03-29T07:00:00Z"),
        ("2099-03-30", "2099-03-30T09:00:00", "2099-03-30T07:00:00Z"),
    ]

    month_end = await create(client, owner, await body(db, owner))
    response = await client.get(
        f"/v1/recurring-invoices/{month_end['id']}/preview", headers=owner.headers
    )
    dates = [o["occurrence_date"] for o in response.json()["occurrences"]]
    assert len(dates) == 12
    assert dates[:4] == ["2099-01-31", "2099-02-28", "2099-03-31", "2099-04-30"]


async def test_preview_stops_at_count_and_ends_on(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    counted = await create(client, owner, await body(db, owner, count=2))
    ending = await create(client, owner, await body(db, owner, ends_on="2099-03-31"))
    for recurring, expected in (
        (counted, ["2099-01-31", "2099-02-28"]),
        (ending, ["2099-01-31", "2099-02-28", "2099-03-31"]),
    ):
        response = await client.get(
            f"/v1/recurring-invoices/{recurring['id']}/preview",
            params={"n": 100},
            headers=owner.headers,
        )
        assert [o["occurrence_date"] for o in response.json()["occurrences"]] == expected


@pytest.mark.parametrize("n", ["0", "101", "many"])
async def test_preview_n_is_1_to_100(client: AsyncClient, db: AsyncSession, n: str) -> None:
    owner = await make_firm(db)
    created = await create(client, owner, await body(db, owner))
    response = await client.get(
        f"/v1/recurring-invoices/{created['id']}/preview", params={"n": n}, headers=owner.headers
    )
    problem = assert_problem(response, 422)
    assert problem["errors"][0]["parameter"] == "n"


async def test_list_is_newest_first_and_keyset_paginated(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    ids = [(await create(client, owner, await body(db, owner)))["id"] for _ in range(3)]
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        response = await client.get("/v1/recurring-invoices", params=params, headers=owner.headers)
        assert response.status_code == 200, response.text
        page = response.json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))
    bad = await client.get(
        "/v1/recurring-invoices", params={"cursor": "nope"}, headers=owner.headers
    )
    assert assert_problem(bad, 400)["errors"][0]["parameter"] == "cursor"


async def test_patch_template_and_auto_send_does_not_signal(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    created = await create(client, owner, await body(db, owner))
    lines = [{"description": "Payroll", "quantity": "2.5", "unit_price": 1_000}]
    response = await client.patch(
        f"/v1/recurring-invoices/{created['id']}",
        json={"template": {"lines": lines}, "auto_send": True},
        headers=owner.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["auto_send"] is True
    # Stored as validated: defaults filled in, nothing unset.
    assert response.json()["template"] == {"lines": [lines[0] | {"tax_rate_ids": []}]}
    assert [m["kind"] for m in await messages(db, owner, created["id"])] == ["start_workflow"]
    assert await audit_actions(db, owner.firm.id, record_id=created["id"]) == [
        "recurring_invoice.created",
        "recurring_invoice.updated",
    ]


async def test_schedule_change_signals_the_workflow(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    created = await create(client, owner, await body(db, owner))
    url = f"/v1/recurring-invoices/{created['id']}"
    response = await client.patch(
        url, json={"rrule": "FREQ=WEEKLY;BYDAY=MO", "count": 4}, headers=owner.headers
    )
    assert response.status_code == 200, response.text
    assert (response.json()["rrule"], response.json()["count"]) == ("FREQ=WEEKLY;BYDAY=MO", 4)
    # The same schedule again is no change: no second signal.
    await client.patch(url, json={"rrule": "FREQ=WEEKLY;BYDAY=MO"}, headers=owner.headers)
    cleared = await client.patch(url, json={"count": None}, headers=owner.headers)
    assert cleared.json()["count"] is None
    sent = await messages(db, owner, created["id"])
    assert sorted((m["kind"], m.get("signal", "")) for m in sent) == [
        ("signal_workflow", "schedule_changed"),
        ("signal_workflow", "schedule_changed"),
        ("start_workflow", ""),
    ]
    assert all(m["workflow_id"] == workflow_id(uuid.UUID(created["id"])) for m in sent)


async def test_pause_resume_end(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    created = await create(client, owner, await body(db, owner))
    url = f"/v1/recurring-invoices/{created['id']}"
    for action, expected in (
        ("pause", "paused"),
        ("pause", "paused"),
        ("resume", "active"),
        ("resume", "active"),
        ("end", "ended"),
        ("end", "ended"),
    ):
        response = await client.post(f"{url}/{action}", headers=owner.headers)
        assert response.status_code == 200, response.text
        assert response.json()["status"] == expected
    signals = [m.get("signal", "") for m in await messages(db, owner, created["id"])]
    # One transaction: the rows tie on created_at, so compare without order.
    assert sorted(signals) == ["", "ended", "paused", "resumed"]
    assert await audit_actions(db, owner.firm.id, record_id=created["id"]) == [
        "recurring_invoice.created",
        "recurring_invoice.paused",
        "recurring_invoice.resumed",
        "recurring_invoice.ended",
    ]
    for request in (
        client.post(f"{url}/resume", headers=owner.headers),
        client.post(f"{url}/pause", headers=owner.headers),
        client.patch(url, json={"auto_send": True}, headers=owner.headers),
    ):
        assert pointers(assert_problem(await request, 409)) == {"/status"}
    preview = await client.get(f"{url}/preview", headers=owner.headers)
    assert preview.json()["occurrences"] == []


@pytest.mark.parametrize(
    ("overrides", "pointer"),
    [
        ({"rrule": "FREQ=HOURLY"}, "/rrule"),
        ({"rrule": "DTSTART:20990101T090000\nRRULE:FREQ=DAILY"}, "/rrule"),
        ({"rrule": "FREQ=DAILY;DTSTART=20990101T090000"}, "/rrule"),
        ({"rrule": "FREQ=DAILY;BYHOUR=9,17"}, "/rrule"),
        ({"rrule": "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"}, "/rrule"),
        ({"rrule": "not a rule"}, "/rrule"),
        ({"rrule": ""}, "/rrule"),
        ({"time_zone": "Europe/Atlantis"}, "/time_zone"),
        ({"starts_at_local": "2099-01-01T09:00:00+01:00"}, "/starts_at_local"),
        ({"starts_at_local": "tomorrow"}, "/starts_at_local"),
        ({"count": 3, "ends_on": "2099-06-30"}, "/count"),
        ({"count": 0}, "/count"),
        ({"ends_on": "2098-12-31"}, "/ends_on"),
        ({"currency": "XYZ"}, "/currency"),
        ({"currency": "eur"}, "/currency"),
        ({"template": {"lines": []}}, "/template/lines"),
        ({"template": {"lines": LINES, "colour": "red"}}, "/template/colour"),
        ({"template": {"lines": [{**LINES[0], "unit_price": -1}]}}, "/template/lines/0/unit_price"),
        (
            {"template": {"lines": [{**LINES[0], "quantity": "1.00001"}]}},
            "/template/lines/0/quantity",
        ),
        (
            {"template": {"lines": LINES, "discount": {"kind": "percent", "value": "101"}}},
            "/template/discount",
        ),
        ({"template": {"lines": LINES, "payment_terms_days": 400}}, "/template/payment_terms_days"),
        ({"auto_send": "sometimes"}, "/auto_send"),
        ({"interval": 2}, "/interval"),
    ],
)
async def test_create_rejects_bad_fields(
    client: AsyncClient, db: AsyncSession, overrides: dict[str, Any], pointer: str
) -> None:
    owner = await make_firm(db)
    response = await client.post(
        "/v1/recurring-invoices", json=await body(db, owner, **overrides), headers=owner.headers
    )
    problem = assert_problem(response, 422)
    assert pointer in pointers(problem), problem


async def test_patch_rejects_bad_fields(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    created = await create(client, owner, await body(db, owner))
    url = f"/v1/recurring-invoices/{created['id']}"
    for patch, pointer in (
        ({"rrule": "FREQ=MINUTELY"}, "/rrule"),
        ({"rrule": None}, "/rrule"),
        ({"time_zone": "Nowhere"}, "/time_zone"),
        ({"count": 5, "ends_on": "2099-12-31"}, "/count"),
        # count on top of the stored ends_on is two ends.
        ({"ends_on": "2099-12-31"}, None),
        ({"count": 5}, "/count"),
        ({"template": None}, "/template"),
        ({"client_id": str(uuid.uuid4())}, "/client_id"),
    ):
        response = await client.patch(url, json=patch, headers=owner.headers)
        if pointer is None:
            assert response.status_code == 200, response.text
        else:
            assert pointer in pointers(assert_problem(response, 422))


async def test_another_firms_ids_are_404(client: AsyncClient, db: AsyncSession) -> None:
    mine, theirs = await make_firm(db), await make_firm(db, "Other")
    their_client = await make_client(db, theirs)
    await scope_to_firm(db, theirs.firm.id)
    their_rate = await tax_rates.create_tax_rate(
        db,
        Principal.system(theirs.firm.id),
        fields=TaxRateFields(name="VAT", percent=Decimal(20)),
    )
    await db.commit()
    theirs_recurring = await create(client, theirs, await body(db, theirs))
    url = f"/v1/recurring-invoices/{theirs_recurring['id']}"
    for request in (
        client.get(url, headers=mine.headers),
        client.patch(url, json={"auto_send": True}, headers=mine.headers),
        client.post(f"{url}/pause", headers=mine.headers),
        client.post(f"{url}/resume", headers=mine.headers),
        client.post(f"{url}/end", headers=mine.headers),
        client.get(f"{url}/preview", headers=mine.headers),
    ):
        assert_problem(await request, 404)
    listed = await client.get("/v1/recurring-invoices", headers=mine.headers)
    assert listed.json()["items"] == []

    data = await body(db, mine)
    response = await client.post(
        "/v1/recurring-invoices",
        json=data | {"client_id": str(their_client.id)},
        headers=mine.headers,
    )
    assert pointers(assert_problem(response, 404)) == {"/client_id"}
    taxed = {"lines": [{**LINES[0], "tax_rate_ids": [str(their_rate.id)]}]}
    response = await client.post(
        "/v1/recurring-invoices", json=data | {"template": taxed}, headers=mine.headers
    )
    assert pointers(assert_problem(response, 404)) == {"/template/lines/0/tax_rate_ids/0"}


async def test_an_archived_tax_rate_is_refused(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    await scope_to_firm(db, owner.firm.id)
    principal = Principal.system(owner.firm.id)
    rate = await tax_rates.create_tax_rate(
        db, principal, fields=TaxRateFields(name="Old VAT", percent=Decimal(19))
    )
    await tax_rates.archive_tax_rate(db, principal, rate.id)
    await db.commit()
    taxed = {"lines": [{**LINES[0], "tax_rate_ids": [str(rate.id)]}]}
    response = await client.post(
        "/v1/recurring-invoices",
        json=await body(db, owner, template=taxed),
        headers=owner.headers,
    )
    assert pointers(assert_problem(response, 422)) == {"/template/lines/0/tax_rate_ids/0"}


async def test_permissions(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    staff = await add_user(db, owner, Role.staff)
    builder = await add_user(db, owner, Role.builder)
    created = await create(client, staff, await body(db, owner))
    url = f"/v1/recurring-invoices/{created['id']}"
    assert (await client.get(url, headers=staff.headers)).status_code == 200
    for request in (
        client.get(url, headers=builder.headers),
        client.get(f"{url}/preview", headers=builder.headers),
        client.post(f"{url}/pause", headers=builder.headers),
        client.post("/v1/recurring-invoices", json={}, headers=builder.headers),
    ):
        assert_problem(await request, 403)
    assert_problem(await client.get(url), 401)


async def test_idempotent_create(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    data = await body(db, owner)
    headers = owner.headers | {"Idempotency-Key": str(uuid.uuid4())}
    first = await client.post("/v1/recurring-invoices", json=data, headers=headers)
    again = await client.post("/v1/recurring-invoices", json=data, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    listed = await client.get("/v1/recurring-invoices", headers=owner.headers)
    assert len(listed.json()["items"]) == 1
