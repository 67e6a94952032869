"""Billing settings over the API: defaults created on first read, changes by those who
manage billing, validation of prefixes, digits and hours, and the invoice template."""

from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from core.roles import Role
from tests.factories import add_user, make_firm
from tests.problems import assert_problem, pointers

URL = "/v1/billing/settings"
TEMPLATE = f"{URL}/invoice-template"


async def test_defaults_changes_and_template(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    staff = await add_user(db, owner, Role.staff)
    defaults = await client.get(URL, headers=staff.headers)
    assert defaults.status_code == 200, defaults.text
    body = defaults.json()
    assert body["invoice_number_prefix"] == "INV-{year}-"
    assert body["credit_note_number_prefix"] == "CN-{year}-"
    assert (body["invoice_number_digits"], body["default_payment_terms_days"]) == (4, 30)
    assert (body["business_hours_start"], body["business_hours_end"]) == (9, 17)
    assert body["business_days"] == [1, 2, 3, 4, 5] and body["invoice_template"] is None
    assert not any("stripe" in key for key in body)

    changed = await client.patch(
        URL,
        json={
            "invoice_number_prefix": "{year}/",
            "invoice_number_digits": 6,
            "default_payment_terms_days": 14,
            "business_hours_start": 8,
            "business_days": [5, 1, 1, 3],
        },
        headers=owner.headers,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["invoice_number_prefix"] == "{year}/"
    assert changed.json()["business_days"] == [1, 3, 5]
    assert (await client.get(URL, headers=staff.headers)).json() == changed.json()

    source = "<h1>{{ invoice.number }}</h1>{{ totals.total }}"
    saved = await client.put(TEMPLATE, json={"template": source}, headers=owner.headers)
    assert saved.status_code == 200 and saved.json()["invoice_template"] == source
    bad = await client.put(
        TEMPLATE, json={"template": "{{ ''.__class__.__mro__ }}"}, headers=owner.headers
    )
    problem = assert_problem(bad, 422)
    assert pointers(problem) == {"/template"} and "unsafe" in problem["detail"]
    assert (await client.get(URL, headers=staff.headers)).json()["invoice_template"] == source
    cleared = await client.delete(TEMPLATE, headers=owner.headers)
    assert cleared.status_code == 200 and cleared.json()["invoice_template"] is None


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"invoice_number_prefix": "INV {{ x }}"}, "/invoice_number_prefix"),
        ({"invoice_number_prefix": "<b>"}, "/invoice_number_prefix"),
        ({"credit_note_number_prefix": "x" * 41}, "/credit_note_number_prefix"),
        ({"invoice_number_digits": 0}, "/invoice_number_digits"),
        ({"invoice_number_digits": 13}, "/invoice_number_digits"),
        ({"default_payment_terms_days": 366}, "/default_payment_terms_days"),
        ({"business_hours_start": 17, "business_hours_end": 9}, "/business_hours_end"),
        ({"business_hours_end": 25}, "/business_hours_end"),
        ({"business_days": []}, "/business_days"),
        ({"business_days": [0]}, "/business_days/0"),
        ({"invoice_number_prefix": None}, "/invoice_number_prefix"),
        ({"stripe_secret_key_encrypted": "x"}, "/stripe_secret_key_encrypted"),
    ],
)
async def test_invalid_settings_name_the_field(
    client: AsyncClient, db: AsyncSession, body: dict[str, Any], pointer: str
) -> None:
    owner = await make_firm(db)
    response = await client.patch(URL, json=body, headers=owner.headers)
    assert pointer in pointers(assert_problem(response, 422))


async def test_only_billing_managers_change_settings(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    staff = await add_user(db, owner, Role.staff)
    builder = await add_user(db, owner, Role.builder)
    assert_problem(await client.get(URL, headers=builder.headers), 403)
    assert_problem(
        await client.patch(URL, json={"invoice_number_digits": 5}, headers=staff.headers), 403
    )
    assert_problem(await client.put(TEMPLATE, json={"template": "x"}, headers=staff.headers), 403)
    assert_problem(await client.delete(TEMPLATE, headers=staff.headers), 403)
    admin = await add_user(db, owner, Role.admin)
    allowed = await client.patch(URL, json={"invoice_number_digits": 5}, headers=admin.headers)
    assert allowed.status_code == 200
