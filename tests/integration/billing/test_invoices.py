"""Invoices through their services: drafts with taxes and discounts, finalization and
numbering, sending (finalize, event, dunning start, idempotent), void and write-off, the
late fee and the collections mark dunning applies, and tenancy."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from core.db import scope_to_firm
from core.errors import Conflict, NotFound, Unprocessable
from core.pagination import Cursor, PageParams
from core.principal import Principal
from core.roles import Role
from models import AuditEvent, Invoice, InvoiceKind, InvoiceLine, InvoiceStatus, OutboxMessage
from services.billing import invoices, tax_rates
from services.billing.invoice_lines import LineFields
from services.billing.invoice_status import ALLOWED, IllegalTransition, move
from services.billing.totals import LineInput, TaxSnapshot, compute_totals
from services.firms import firm_today
from tests.audit import audit_actions
from tests.billing_factories import make_client, make_invoice
from tests.factories import Actor, add_user, make_firm, principal_of
from tests.fixtures import db as fixtures
from tests.plans import app_plans, assert_no_sequential_scan, populated_session
from tests.problems import assert_problem, pointers


async def rate(db: AsyncSession, actor: Actor, name: str, percent: str, inclusive: bool) -> Any:
    await scope_to_firm(db, actor.firm.id)
    return await tax_rates.create_tax_rate(
        db,
        Principal.system(actor.firm.id),
        fields=tax_rates.TaxRateFields(name=name, percent=Decimal(percent), inclusive=inclusive),
    )


async def draft(db: AsyncSession, actor: Actor, **fields: Any) -> Invoice:
    await scope_to_firm(db, actor.firm.id)
    if "client_id" not in fields:
        fields["client_id"] = (await make_client(db, actor)).id
    fields.setdefault("lines", [{"description": "Audit", "quantity": "2", "unit_price": 15_000}])
    invoice = await invoices.create_invoice(
        db, principal_of(actor), fields=invoices.validate_invoice_fields(fields)
    )
    await db.commit()
    return invoice


async def outbox_keys(db: AsyncSession, actor: Actor) -> set[str]:
    await scope_to_firm(db, actor.firm.id)
    rows = await db.scalars(
        select(OutboxMessage.dedupe_key).where(OutboxMessage.firm_id == actor.firm.id)
    )
    return set(rows)


async def test_create_draft_with_taxes_and_discount(db: AsyncSession) -> None:
    owner = await make_firm(db)
    vat = await rate(db, owner, "VAT", "20", inclusive=True)
    city = await rate(db, owner, "City tax", "2.5", inclusive=False)
    invoice = await draft(
        db,
        owner,
        currency="EUR",
        payment_terms_days=14,
        notes="Thank you",
        discount={"kind": "percent", "value": "10"},
        lines=[
            {
                "description": "Bookkeeping",
                "quantity": "1.5",
                "unit_price": 12_345,
                "tax_rate_ids": [str(vat.id), str(city.id)],
            },
            {"description": "Filing", "quantity": "3", "unit_price": 999},
        ],
    )
    snapshots = (tax_rates.snapshot(vat), tax_rates.snapshot(city))
    expected = compute_totals(
        [LineInput(Decimal("1.5"), 12_345, snapshots), LineInput(Decimal(3), 999)],
        discount_kind="percent",
        discount_value=Decimal(10),
    )
    assert invoice.status == InvoiceStatus.draft and invoice.number is None
    assert invoice.currency == "EUR" and invoice.payment_terms_days == 14
    assert invoice.created_by == owner.user.id
    assert (invoice.subtotal, invoice.discount_total, invoice.tax_total) == (
        expected.subtotal,
        expected.discount_total,
        expected.tax_total,
    )
    assert invoice.total == invoice.balance == expected.total
    assert invoice.tax_breakdown == expected.breakdown()
    lines = await invoices.lines_of(db, invoice)
    assert [line.description for line in lines] == ["Bookkeeping", "Filing"]
    assert [line.amount for line in lines] == [t.amount for t in expected.lines]
    assert lines[0].taxes == [s.as_json() for s in snapshots]
    assert await audit_actions(db, owner.firm.id, record_type="invoice", record_id=invoice.id) == [
        "invoice.created"
    ]

    # Later changes to a rate never reach an existing invoice's lines.
    await tax_rates.update_tax_rate(
        db, principal_of(owner), vat.id, patch=tax_rates.TaxRatePatch(percent=Decimal(25))
    )
    refreshed = await invoices.lines_of(db, invoice)
    assert Decimal(refreshed[0].taxes[0]["percent"]) == 20


async def test_create_defaults_currency_and_terms_from_the_firm(db: AsyncSession) -> None:
    owner = await make_firm(db)
    invoice = await draft(db, owner)
    assert invoice.currency == owner.firm.default_currency
    assert invoice.payment_terms_days == 30 and invoice.due_date is None


async def test_create_rejects_foreign_and_archived_ids(db: AsyncSession) -> None:
    owner = await make_firm(db)
    other = await make_firm(db, "Other")
    foreign_client = await make_client(db, other)
    foreign_rate = await rate(db, other, "VAT", "20", inclusive=False)
    archived = await rate(db, owner, "Old", "5", inclusive=False)
    await tax_rates.archive_tax_rate(db, principal_of(owner), archived.id)
    with pytest.raises(NotFound) as missing_client:
        await draft(db, owner, client_id=foreign_client.id)
    assert missing_client.value.errors == [
        {"pointer": "/client_id", "detail": "no such client in your firm"}
    ]
    line = {"description": "x", "quantity": 1, "unit_price": 1}
    with pytest.raises(NotFound) as missing_rate:
        await draft(db, owner, lines=[line, {**line, "tax_rate_ids": [str(foreign_rate.id)]}])
    assert missing_rate.value.errors is not None
    assert missing_rate.value.errors[0]["pointer"] == "/lines/1/tax_rate_ids/0"
    with pytest.raises(Unprocessable) as archived_rate:
        await draft(db, owner, lines=[{**line, "tax_rate_ids": [str(archived.id)]}])
    assert archived_rate.value.errors is not None
    assert archived_rate.value.errors[0]["pointer"] == "/lines/0/tax_rate_ids/0"


@pytest.mark.parametrize(
    ("fields", "pointer"),
    [
        ({"lines": []}, "/lines"),
        ({"currency": "XYZ"}, "/currency"),
        ({"currency": "usd"}, "/currency"),
        ({"due_date": "2026-01-01", "payment_terms_days": 10}, ""),
        ({"issue_date": "2026-02-01", "due_date": "2026-01-01"}, ""),
        ({"payment_terms_days": 400}, "/payment_terms_days"),
        ({"discount": {"kind": "percent", "value": "101"}}, "/discount"),
        ({"discount": {"kind": "amount", "value": "1.5"}}, "/discount"),
        ({"lines": [{"description": "x", "quantity": "1.00001", "unit_price": 1}]}, "/lines/0"),
        ({"lines": [{"description": "x", "quantity": "-1", "unit_price": 1}]}, "/lines/0"),
        ({"lines": [{"description": "x", "quantity": "1", "unit_price": -1}]}, "/lines/0"),
        ({"lines": [{"description": "", "quantity": "1", "unit_price": 1}]}, "/lines/0"),
        ({"extra": 1}, "/extra"),
    ],
)
def test_invalid_fields_name_the_field(fields: dict[str, Any], pointer: str) -> None:
    base: dict[str, Any] = {
        "client_id": str(uuid.uuid4()),
        "lines": [{"description": "x", "quantity": 1, "unit_price": 1}],
    }
    with pytest.raises(Unprocessable) as raised:
        invoices.validate_invoice_fields({**base, **fields})
    assert raised.value.errors
    assert all(error["pointer"].startswith(pointer) for error in raised.value.errors)


def test_line_tax_rates_are_distinct() -> None:
    rate_id = uuid.uuid4()
    with pytest.raises(ValueError, match="only once"):
        LineFields(description="x", quantity=Decimal(1), unit_price=1, tax_rate_ids=[rate_id] * 2)


async def test_get_invoice_of_another_firm_is_404(db: AsyncSession) -> None:
    owner = await make_firm(db)
    other = await make_firm(db, "Other")
    invoice = await make_invoice(db, other)
    await scope_to_firm(db, owner.firm.id)
    with pytest.raises(NotFound):
        await invoices.get_invoice(db, principal_of(owner), invoice.id)
    with pytest.raises(NotFound):
        await invoices.finalize_invoice(db, Principal.system(owner.firm.id), invoice.id)
    await scope_to_firm(db, other.firm.id)
    locked = await invoices.get_invoice(db, Principal.system(other.firm.id), invoice.id, lock=True)
    assert locked.id == invoice.id
    with pytest.raises(NotFound):
        await invoices.apply_late_fee(db, principal_of(owner), locked, 100)
    with pytest.raises(NotFound):
        await invoices.mark_in_collections(db, principal_of(owner), locked)


async def test_finalize_numbers_dates_and_emits(db: AsyncSession) -> None:
    owner = await make_firm(db)
    invoice = await draft(db, owner, payment_terms_days=15)
    finalized = await invoices.finalize_invoice(db, principal_of(owner), invoice.id)
    today = await firm_today(db, principal_of(owner))
    assert finalized.status == InvoiceStatus.open
    assert finalized.number == f"INV-{today.year}-0001"
    assert finalized.issue_date == today
    assert finalized.due_date == today + timedelta(days=15)
    assert finalized.finalized_at is not None and finalized.sent_at is None
    assert f"invoice.finalized:{invoice.id}" in await outbox_keys(db, owner)
    assert await audit_actions(db, owner.firm.id, record_type="invoice", record_id=invoice.id) == [
        "invoice.created",
        "invoice.finalized",
    ]
    with pytest.raises(IllegalTransition, match="already finalized"):
        await invoices.finalize_invoice(db, principal_of(owner), invoice.id)

    second = await draft(db, owner, issue_date="2025-06-30", due_date="2025-07-31")
    numbered = await invoices.finalize_invoice(db, principal_of(owner), second.id)
    assert numbered.number == "INV-2025-0001"
    assert numbered.due_date == date(2025, 7, 31)


async def test_finalize_refuses_a_due_date_before_the_issue_date(db: AsyncSession) -> None:
    owner = await make_firm(db)
    invoice = await draft(db, owner, due_date="2020-01-01")
    with pytest.raises(Unprocessable) as raised:
        await invoices.finalize_invoice(db, principal_of(owner), invoice.id)
    assert raised.value.errors == [{"pointer": "/due_date", "detail": "before the issue date"}]


async def test_send_finalizes_starts_dunning_and_is_idempotent(db: AsyncSession) -> None:
    owner = await make_firm(db)
    invoice = await draft(db, owner)
    system = Principal.system(owner.firm.id)
    sent = await invoices.send_invoice(db, system, invoice.id)
    assert sent.status == InvoiceStatus.open and sent.number is not None
    assert sent.sent_at is not None
    keys = await outbox_keys(db, owner)
    assert {
        f"invoice.finalized:{invoice.id}",
        f"invoice.sent:{invoice.id}",
        f"start:dunning-{invoice.id}",
    } <= keys
    first_sent_at = sent.sent_at
    again = await invoices.send_invoice(db, system, invoice.id)
    assert again.sent_at == first_sent_at
    assert await audit_actions(db, owner.firm.id, record_type="invoice", record_id=invoice.id) == [
        "invoice.created",
        "invoice.finalized",
        "invoice.sent",
    ]
    event = await db.scalar(
        select(OutboxMessage.payload).where(
            OutboxMessage.dedupe_key == f"invoice.sent:{invoice.id}"
        )
    )
    assert event is not None
    assert event["event"] == "invoice.sent" and event["number"] == sent.number
    assert event["balance"] == sent.balance


async def test_send_refuses_void_invoices(db: AsyncSession) -> None:
    owner = await make_firm(db)
    invoice = await make_invoice(db, owner, status=InvoiceStatus.void)
    await scope_to_firm(db, owner.firm.id)
    with pytest.raises(IllegalTransition, match="cannot be sent"):
        await invoices.send_invoice(db, principal_of(owner), invoice.id)


async def test_void_and_write_off(db: AsyncSession) -> None:
    owner = await make_firm(db)
    invoice = await make_invoice(db, owner)
    await scope_to_firm(db, owner.firm.id)
    voided = await invoices.void_invoice(db, principal_of(owner), invoice.id, reason="Billed twice")
    assert voided.status == InvoiceStatus.void and voided.voided_at is not None
    assert await invoices.void_invoice(db, principal_of(owner), invoice.id, reason=None) is voided
    audit = await db.scalar(
        select(AuditEvent.summary).where(
            AuditEvent.record_id == invoice.id, AuditEvent.action == "invoice.voided"
        )
    )
    assert audit is not None and audit["after"]["reason"] == "Billed twice"
    assert f"invoice.voided:{invoice.id}" in await outbox_keys(db, owner)
    with pytest.raises(IllegalTransition, match="void invoice is final"):
        await invoices.mark_uncollectible(db, principal_of(owner), invoice.id)

    owed = await make_invoice(db, owner, status=InvoiceStatus.partially_paid)
    await scope_to_firm(db, owner.firm.id)
    with pytest.raises(IllegalTransition, match="refund them first"):
        await invoices.void_invoice(db, principal_of(owner), owed.id, reason=None)
    written_off = await invoices.mark_uncollectible(db, principal_of(owner), owed.id)
    assert written_off.status == InvoiceStatus.uncollectible
    assert f"invoice.uncollectible:{owed.id}" in await outbox_keys(db, owner)

    a_draft = await draft(db, owner)
    with pytest.raises(IllegalTransition, match="delete the draft"):
        await invoices.void_invoice(db, principal_of(owner), a_draft.id, reason=None)


async def test_late_fee_applies_once_through_the_totals(db: AsyncSession) -> None:
    owner = await make_firm(db)
    vat = TaxSnapshot(uuid.uuid4(), "VAT", Decimal(10), inclusive=False)
    invoice = await make_invoice(db, owner, lines=((2, 5_000),), taxes=(vat,))
    await scope_to_firm(db, owner.firm.id)
    system = Principal.system(owner.firm.id)
    locked = await invoices.get_invoice(db, system, invoice.id, lock=True)
    assert await invoices.apply_late_fee(db, system, locked, 2_500) is True
    assert (locked.total, locked.late_fee, locked.balance) == (13_500, 2_500, 13_500)
    assert locked.tax_total == 1_000 and locked.late_fee_applied_at is not None
    assert await invoices.apply_late_fee(db, system, locked, 2_500) is False
    await db.commit()
    stored = await invoices.get_invoice(db, system, invoice.id)
    assert (stored.total, stored.balance) == (13_500, 13_500)
    assert await audit_actions(db, owner.firm.id, record_type="invoice", record_id=invoice.id) == [
        "invoice.late_fee_applied"
    ]

    paid = await make_invoice(db, owner, status=InvoiceStatus.paid)
    await scope_to_firm(db, owner.firm.id)
    assert await invoices.apply_late_fee(db, system, paid, 100) is False
    fresh = await make_invoice(db, owner)
    await scope_to_firm(db, owner.firm.id)
    assert await invoices.apply_late_fee(db, system, fresh, 0) is False


async def test_mark_in_collections_once(db: AsyncSession) -> None:
    owner = await make_firm(db)
    invoice = await make_invoice(db, owner)
    await scope_to_firm(db, owner.firm.id)
    system = Principal.system(owner.firm.id)
    locked = await invoices.get_invoice(db, system, invoice.id, lock=True)
    assert await invoices.mark_in_collections(db, system, locked) is True
    assert locked.in_collections is True
    assert await invoices.mark_in_collections(db, system, locked) is False
    assert f"invoice.in_collections:{invoice.id}" in await outbox_keys(db, owner)
    assert await audit_actions(db, owner.firm.id, record_type="invoice", record_id=invoice.id) == [
        "invoice.in_collections"
    ]
    void = await make_invoice(db, owner, status=InvoiceStatus.void)
    await scope_to_firm(db, owner.firm.id)
    assert await invoices.mark_in_collections(db, system, void) is False


async def test_draft_patch_and_delete_and_immutability(db: AsyncSession) -> None:
    owner = await make_firm(db)
    invoice = await draft(db, owner)
    patched = await invoices.update_invoice(
        db,
        principal_of(owner),
        invoice.id,
        patch=invoices.InvoicePatch.model_validate(
            {
                "discount": {"kind": "amount", "value": 1_000},
                "lines": [{"description": "Review", "quantity": "1", "unit_price": 20_000}],
            }
        ),
    )
    assert (patched.subtotal, patched.discount_total, patched.total) == (20_000, 1_000, 19_000)
    assert [line.description for line in await invoices.lines_of(db, patched)] == ["Review"]
    only_discount = await invoices.update_invoice(
        db,
        principal_of(owner),
        invoice.id,
        patch=invoices.InvoicePatch.model_validate({"discount": None, "due_date": "2030-01-01"}),
    )
    assert only_discount.total == only_discount.balance == 20_000
    assert only_discount.payment_terms_days is None
    await invoices.delete_invoice(db, principal_of(owner), invoice.id)
    assert await db.scalar(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id)) is None

    issued = await make_invoice(db, owner)
    await scope_to_firm(db, owner.firm.id)
    with pytest.raises(Conflict, match="finalized"):
        await invoices.update_invoice(
            db, principal_of(owner), issued.id, patch=invoices.InvoicePatch(notes="x")
        )
    with pytest.raises(Conflict, match="finalized"):
        await invoices.delete_invoice(db, principal_of(owner), issued.id)


# The API


async def api_create(http: AsyncClient, actor: Actor, **body: Any) -> dict[str, Any]:
    response = await http.post("/v1/invoices", json=body, headers=actor.headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def line(**extra: Any) -> dict[str, Any]:
    return {"description": "Advisory", "quantity": "2", "unit_price": 7_500, **extra}


async def test_api_lifecycle(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    staff = await add_user(db, owner, Role.staff)
    customer = await make_client(db, owner)
    created_rate = await client.post(
        "/v1/tax-rates", json={"name": "GST", "percent": "10"}, headers=owner.headers
    )
    assert created_rate.status_code == 201, created_rate.text
    gst = created_rate.json()["id"]

    created = await api_create(
        client,
        staff,
        client_id=str(customer.id),
        discount={"kind": "amount", "value": 1_000},
        lines=[line(tax_rate_ids=[gst]), line(description="Travel", unit_price=2_000)],
    )
    assert created["status"] == "draft" and created["number"] is None
    assert created["subtotal"] == 19_000 and created["discount_total"] == 1_000
    assert created["tax_total"] == 1_421 and created["total"] == 19_421
    assert [tax["amount"] for tax in created["tax_breakdown"]] == [1_421]
    assert [ln["description"] for ln in created["lines"]] == ["Advisory", "Travel"]
    assert created["lines"][0]["taxes"][0]["name"] == "GST"
    url = f"/v1/invoices/{created['id']}"

    patched = await client.patch(
        url, json={"notes": "Net 30", "discount": None}, headers=staff.headers
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["total"] == 20_500 and patched.json()["notes"] == "Net 30"
    assert (await client.get(url, headers=staff.headers)).json() == patched.json()

    sent = await client.post(f"{url}/send", headers=staff.headers)
    assert sent.status_code == 200, sent.text
    assert sent.json()["status"] == "open" and sent.json()["number"].startswith("INV-")
    assert sent.json()["sent_at"] is not None
    again = await client.post(f"{url}/send", headers=staff.headers)
    assert again.status_code == 200 and again.json()["sent_at"] == sent.json()["sent_at"]

    html = await client.get(f"{url}/html", headers=staff.headers)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in html.headers["content-security-policy"]
    assert html.headers["invoice-template"] == "default"
    assert sent.json()["number"] in html.text and "205.00" in html.text

    refused = await client.patch(url, json={"notes": "x"}, headers=staff.headers)
    assert "finalized" in assert_problem(refused, 409)["detail"]
    assert_problem(await client.delete(url, headers=staff.headers), 409)

    voided = await client.post(f"{url}/void", json={"reason": "Duplicate"}, headers=staff.headers)
    assert voided.status_code == 200 and voided.json()["status"] == "void"

    other = await api_create(client, staff, client_id=str(customer.id), lines=[line()])
    other_url = f"/v1/invoices/{other['id']}"
    assert (await client.post(f"{other_url}/finalize", headers=staff.headers)).status_code == 200
    written_off = await client.post(f"{other_url}/mark-uncollectible", headers=staff.headers)
    assert written_off.status_code == 200 and written_off.json()["status"] == "uncollectible"

    scratch = await api_create(client, staff, client_id=str(customer.id), lines=[line()])
    scratch_url = f"/v1/invoices/{scratch['id']}"
    assert (await client.delete(scratch_url, headers=staff.headers)).status_code == 204
    assert_problem(await client.get(scratch_url, headers=staff.headers), 404)


async def test_api_create_is_idempotent(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    customer = await make_client(db, owner)
    body = {"client_id": str(customer.id), "lines": [line()]}
    headers = {**owner.headers, "Idempotency-Key": "invoice-once"}
    first = await client.post("/v1/invoices", json=body, headers=headers)
    second = await client.post("/v1/invoices", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]


async def test_api_list_filters_and_pages(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    first_client = await make_client(db, owner)
    second_client = await make_client(db, owner)
    drafts = [
        await api_create(client, owner, client_id=str(first_client.id), lines=[line()])
        for _ in range(3)
    ]
    other = await api_create(client, owner, client_id=str(second_client.id), lines=[line()])
    await client.post(f"/v1/invoices/{other['id']}/finalize", headers=owner.headers)

    listed = await client.get("/v1/invoices", params={"limit": 2}, headers=owner.headers)
    assert listed.status_code == 200
    page = listed.json()
    assert [i["id"] for i in page["items"]] == [other["id"], drafts[2]["id"]]
    assert "lines" not in page["items"][0]
    rest = await client.get(
        "/v1/invoices", params={"limit": 2, "cursor": page["next_cursor"]}, headers=owner.headers
    )
    assert [i["id"] for i in rest.json()["items"]] == [drafts[1]["id"], drafts[0]["id"]]

    async def ids(**params: str) -> list[str]:
        response = await client.get("/v1/invoices", params=params, headers=owner.headers)
        assert response.status_code == 200, response.text
        return [i["id"] for i in response.json()["items"]]

    assert await ids(status="open") == [other["id"]]
    assert await ids(client_id=str(first_client.id)) == [d["id"] for d in reversed(drafts)]
    assert await ids(kind="credit_note") == []
    assert len(await ids(kind="invoice", status="draft")) == 3
    bad = await client.get("/v1/invoices", params={"status": "lost"}, headers=owner.headers)
    assert assert_problem(bad, 422)["errors"][0]["parameter"] == "status"


async def test_api_lists_invoices_in_collections_still_owed(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    other = await make_firm(db, "Other")
    collected = await make_invoice(db, owner)
    await make_invoice(db, owner)
    written_off = await make_invoice(db, owner, status=InvoiceStatus.uncollectible)
    theirs = await make_invoice(db, other)
    for invoice in (collected, written_off, theirs):
        await scope_to_firm(db, invoice.firm_id)
        invoice.in_collections = True
        await db.commit()

    async def ids(**params: str) -> list[str]:
        response = await client.get("/v1/invoices", params=params, headers=owner.headers)
        assert response.status_code == 200, response.text
        return [i["id"] for i in response.json()["items"]]

    assert await ids(in_collections="true") == [str(collected.id)]
    assert len(await ids(in_collections="false")) == 3
    assert await ids(in_collections="true", status="paid") == []
    bad = await client.get(
        "/v1/invoices", params={"in_collections": "maybe"}, headers=owner.headers
    )
    assert assert_problem(bad, 422)["errors"][0]["parameter"] == "in_collections"


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"lines": []}, "/lines"),
        ({"client_id": "nope"}, "/client_id"),
        ({"currency": "DOLLARS"}, "/currency"),
        ({"lines": [line(quantity="0.12345")]}, "/lines/0/quantity"),
        ({"lines": [line(unit_price=-5)]}, "/lines/0/unit_price"),
        ({"lines": [line(unit_price=1.5)]}, "/lines/0/unit_price"),
        ({"lines": [line(description="")]}, "/lines/0/description"),
        ({"lines": [line()] * 501}, "/lines"),
        ({"discount": {"kind": "bogus", "value": 1}}, "/discount/kind"),
        ({"payment_terms_days": -1}, "/payment_terms_days"),
        ({"number": "INV-1"}, "/number"),
    ],
)
async def test_api_validation_names_the_field(
    client: AsyncClient, db: AsyncSession, body: dict[str, Any], pointer: str
) -> None:
    owner = await make_firm(db)
    customer = await make_client(db, owner)
    response = await client.post(
        "/v1/invoices",
        json={"client_id": str(customer.id), "lines": [line()], **body},
        headers=owner.headers,
    )
    problem = assert_problem(response, 422)
    assert pointer in pointers(problem), problem


async def test_api_another_firms_ids_are_404(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    other = await make_firm(db, "Other")
    theirs = await make_invoice(db, other, status=InvoiceStatus.draft)
    their_client = await make_client(db, other)
    url = f"/v1/invoices/{theirs.id}"
    for method, path in [
        ("GET", url),
        ("GET", f"{url}/html"),
        ("PATCH", url),
        ("DELETE", url),
        ("POST", f"{url}/finalize"),
        ("POST", f"{url}/send"),
        ("POST", f"{url}/void"),
        ("POST", f"{url}/mark-uncollectible"),
    ]:
        kwargs: dict[str, Any] = {"json": {"notes": "x"}} if method == "PATCH" else {}
        response = await client.request(method, path, headers=owner.headers, **kwargs)
        assert_problem(response, 404)
    response = await client.post(
        "/v1/invoices",
        json={"client_id": str(their_client.id), "lines": [line()]},
        headers=owner.headers,
    )
    assert pointers(assert_problem(response, 404)) == {"/client_id"}
    await scope_to_firm(db, other.firm.id)
    still = await db.scalar(select(Invoice).where(Invoice.id == theirs.id))
    assert still is not None and still.status == InvoiceStatus.draft and still.notes is None


@pytest.mark.parametrize(
    ("role", "method", "path", "expected"),
    [
        (Role.builder, "GET", "/v1/invoices", 403),
        (Role.client, "GET", "/v1/invoices", 403),
        (Role.client, "POST", "/v1/invoices", 403),
        (Role.builder, "POST", "/v1/invoices/{id}/void", 403),
        (Role.staff, "GET", "/v1/invoices/{id}", 200),
        (Role.admin, "POST", "/v1/invoices/{id}/void", 200),
    ],
)
async def test_api_roles(
    client: AsyncClient, db: AsyncSession, role: Role, method: str, path: str, expected: int
) -> None:
    owner = await make_firm(db)
    member = await add_user(db, owner, role)
    invoice = await make_invoice(db, owner)
    response = await client.request(
        method, path.format(id=invoice.id), headers=member.headers, json=None
    )
    if expected == 403:
        assert_problem(response, 403)
    else:
        assert response.status_code == expected, response.text


S = InvoiceStatus
ACTIONS = {"finalize": S.open, "void": S.void, "mark-uncollectible": S.uncollectible}


def _route_outcome(current: InvoiceStatus, action: str) -> int:
    target = ACTIONS[action]
    if action == "finalize":
        return 200 if current == S.draft else 409
    if current == S.draft:
        return 409
    return 200 if current == target or target in ALLOWED[current] else 409


@pytest.mark.parametrize("current", list(S))
@pytest.mark.parametrize("action", list(ACTIONS))
async def test_api_every_status_action(
    client: AsyncClient, db: AsyncSession, current: InvoiceStatus, action: str
) -> None:
    owner = await make_firm(db)
    invoice = await make_invoice(db, owner, status=current)
    response = await client.post(f"/v1/invoices/{invoice.id}/{action}", headers=owner.headers)
    expected = _route_outcome(current, action)
    if expected == 409:
        problem = assert_problem(response, 409)
        assert problem["detail"].startswith(f"This {current.value} invoice cannot")
        assert ":" in problem["detail"] or "cannot be" in problem["detail"]
        assert pointers(problem) == {"/status"}
    else:
        assert response.status_code == 200, response.text
        assert response.json()["status"] == ACTIONS[action].value


ILLEGAL = [(a, b) for a in S for b in S if a != b and b not in ALLOWED[a]]


@pytest.mark.parametrize(("current", "target"), ILLEGAL)
def test_every_illegal_move_is_a_409_with_its_reason(
    current: InvoiceStatus, target: InvoiceStatus
) -> None:
    invoice = Invoice(status=current.value)
    with pytest.raises(IllegalTransition) as raised:
        move(invoice, target, at=datetime.now(UTC))
    assert raised.value.status == 409
    assert raised.value.detail.startswith(f"This {current.value} invoice cannot become")
    assert raised.value.detail.split(": ", 1)[1]
    assert invoice.status == current.value


# Indexes behind the lists

INDEX_FIRM = uuid.UUID("00000000-0000-4000-8000-0000000000a1")
INDEX_CLIENT = uuid.UUID("00000000-0000-4000-8000-0000000000a2")
INDEX_PRINCIPAL = Principal.system(INDEX_FIRM)
INVOICES = 100_000
RATES = 20_000


async def populate_invoices(conn: AsyncConnection) -> None:
    firm = {"firm": INDEX_FIRM}
    await conn.execute(
        text("SELECT set_config('app.firm_id', :firm, true)"), {"firm": str(INDEX_FIRM)}
    )
    await conn.execute(
        text(
            "INSERT INTO firms (id, name, slug, time_zone, default_currency)"
            " VALUES (:firm, 'Invoice index test', :slug, 'UTC', 'USD')"
        ),
        {**firm, "slug": f"invoice-index-{uuid.uuid4().hex[:8]}"},
    )
    await conn.execute(
        text(
            "INSERT INTO clients (id, firm_id, kind, name, status, tags, custom_fields,"
            " created_at, updated_at)"
            " SELECT CASE WHEN i = 1 THEN CAST(:client AS uuid) ELSE gen_random_uuid() END,"
            " :firm, 'organization', 'Client ' || i, 'active', '{}', '{}', now(), now()"
            " FROM generate_series(1, 1000) AS i"
        ),
        {**firm, "client": INDEX_CLIENT},
    )
    await conn.execute(
        text(
            "INSERT INTO invoices (id, firm_id, client_id, kind, number, status, in_collections,"
            " currency, discount_value, subtotal, discount_total, tax_total,"
            " tax_exclusive_total, late_fee, total, amount_paid, amount_credited, balance,"
            " tax_breakdown, dunning_paused, created_at, updated_at)"
            " SELECT gen_random_uuid(), :firm, c.id, 'invoice',"
            " CASE WHEN i % 5 = 0 THEN NULL ELSE 'N-' || i END,"
            " (ARRAY['draft', 'open', 'paid', 'void', 'partially_paid'])[1 + i % 5],"
            " i % 50 = 1, 'USD', 0, 100, 0, 0, 0, 0, 100, 0, 0,"
            " CASE WHEN i % 5 = 3 THEN 0 ELSE 100 END, '[]', false,"
            " now() - i * interval '1 minute', now() - i * interval '1 minute'"
            " FROM generate_series(1, :n) AS i"
            " JOIN (SELECT id, row_number() OVER () - 1 AS k FROM clients) c ON c.k = i % 1000"
        ),
        {**firm, "n": INVOICES},
    )
    await conn.execute(
        text(
            "INSERT INTO tax_rates (id, firm_id, name, percent, inclusive, archived_at,"
            " created_at, updated_at)"
            " SELECT gen_random_uuid(), :firm, 'Rate ' || i, i % 100, i % 2 = 0,"
            " CASE WHEN i % 10 = 0 THEN now() END,"
            " now() - i * interval '1 minute', now() - i * interval '1 minute'"
            " FROM generate_series(1, :n) AS i"
        ),
        {**firm, "n": RATES},
    )
    for table in ("clients", "invoices", "tax_rates"):
        await conn.execute(text(f"ANALYZE {table}"))


@pytest.fixture
async def populated(test_database: fixtures.TestDatabase) -> AsyncIterator[AsyncSession]:
    async with populated_session(test_database, populate_invoices) as session:
        yield session


async def test_invoice_and_tax_rate_lists_use_indexes(populated: AsyncSession) -> None:
    first = PageParams()
    later = PageParams(cursor=Cursor(datetime.now(UTC) - timedelta(days=10), uuid.uuid4()))

    def listed(page: PageParams = first, **filters: Any) -> Any:
        return invoices.invoices_query(INDEX_PRINCIPAL, invoices.InvoiceFilters(**filters), page)

    statements = {
        "invoices": listed(),
        "invoices, later page": listed(later),
        "invoices by status": listed(status=InvoiceStatus.void),
        "invoices by status, later page": listed(later, status=InvoiceStatus.open),
        "invoices by client": listed(client_id=INDEX_CLIENT),
        "invoices by client and status": listed(client_id=INDEX_CLIENT, status=InvoiceStatus.paid),
        "invoices by kind": listed(kind=InvoiceKind.invoice),
        "invoices in collections": listed(in_collections=True),
        "invoices in collections, later page": listed(later, in_collections=True),
        "tax rates": tax_rates.tax_rates_query(INDEX_PRINCIPAL, include_archived=False, page=first),
        "tax rates with archived, later page": tax_rates.tax_rates_query(
            INDEX_PRINCIPAL, include_archived=True, page=later
        ),
    }
    plans = await app_plans(populated, INDEX_FIRM, statements)
    assert_no_sequential_scan(plans)


async def test_api_patch_refusals(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    other = await make_firm(db, "Other")
    customer = await make_client(db, owner)
    their_client = await make_client(db, other)
    created = await api_create(
        client, owner, client_id=str(customer.id), issue_date="2026-03-10", lines=[line()]
    )
    url = f"/v1/invoices/{created['id']}"

    async def patch(body: dict[str, Any]) -> Any:
        return await client.patch(url, json=body, headers=owner.headers)

    assert pointers(assert_problem(await patch({"due_date": "2026-03-01"}), 422)) == {"/due_date"}
    assert "/lines" in pointers(assert_problem(await patch({"lines": None}), 422))
    assert "/client_id" in pointers(assert_problem(await patch({"client_id": None}), 422))
    # A bad value's pointer names the member, never a branch of its type.
    bad = {"currency": "usd1", "lines": [], "client_id": "x"}
    assert pointers(assert_problem(await patch(bad), 422)) == {"/currency", "/lines", "/client_id"}
    moved = await patch({"client_id": str(their_client.id)})
    assert pointers(assert_problem(moved, 404)) == {"/client_id"}
    assert (await client.get(url, headers=owner.headers)).json() == created
