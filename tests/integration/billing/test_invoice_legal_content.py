"""What the law requires on an invoice (EU directive 2006/112/EC art. 226): the seller's
legal details in billing settings, checked on the way in (IBAN mod-97, BIC, VAT id,
country), printed on the invoice, and required before an EU seller issues an invoice."""

from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from tests.billing_factories import make_client
from tests.factories import Actor, make_firm
from tests.problems import assert_problem, pointers

SETTINGS = "/v1/billing/settings"
SELLER = {
    "seller_legal_name": "Muster Steuerberatung GmbH",
    "seller_address_line1": "Friedrichstraße 1",
    "seller_postal_code": "10117",
    "seller_city": "Berlin",
    "seller_country": "de",
    "seller_vat_id": "DE 123 456 789",
    "seller_iban": "de89 3704 0044 0532 0130 00",
    "seller_bic": "cobadeffxxx",
}
EU_REQUIRED = {
    "/seller_legal_name",
    "/seller_address_line1",
    "/seller_postal_code",
    "/seller_city",
    "/seller_vat_id",
}


async def draft(http: AsyncClient, db: AsyncSession, actor: Actor, **extra: Any) -> str:
    customer = await make_client(db, actor)
    response = await http.post(
        "/v1/invoices",
        json={
            "client_id": str(customer.id),
            "currency": "EUR",
            "lines": [{"description": "Jahresabschluss", "quantity": "1", "unit_price": 10_000}],
            **extra,
        },
        headers=actor.headers,
    )
    assert response.status_code == 201, response.text
    invoice_id: str = response.json()["id"]
    return invoice_id


async def test_seller_details_round_trip_normalized(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    saved = await client.patch(SETTINGS, json=SELLER, headers=owner.headers)
    assert saved.status_code == 200, saved.text
    body = saved.json()
    assert body["seller_country"] == "DE" and body["seller_vat_id"] == "DE123456789"
    assert body["seller_iban"] == "DE89370400440532013000" and body["seller_bic"] == "COBADEFFXXX"
    assert body["seller_legal_name"] == "Muster Steuerberatung GmbH"
    assert (await client.get(SETTINGS, headers=owner.headers)).json() == body

    cleared = await client.patch(
        SETTINGS, json={"seller_iban": None, "seller_bic": ""}, headers=owner.headers
    )
    assert cleared.status_code == 200, cleared.text
    assert (cleared.json()["seller_iban"], cleared.json()["seller_bic"]) == (None, None)


@pytest.mark.parametrize(
    ("body", "pointer", "words"),
    [
        ({"seller_iban": "DE89 3704 0044 0532 0130 01"}, "/seller_iban", "check digits"),
        ({"seller_iban": "1234"}, "/seller_iban", "starts with a two-letter country code"),
        ({"seller_bic": "COBA DE"}, "/seller_bic", "8 or 11 letters and digits"),
        ({"seller_country": "Germany"}, "/seller_country", "two-letter ISO 3166 code"),
        ({"seller_vat_id": "123"}, "/seller_vat_id", "country prefix"),
        ({"seller_country": "FR", "seller_vat_id": "DE123456789"}, "/seller_vat_id", "FR"),
        ({"seller_legal_name": "x" * 201}, "/seller_legal_name", "200"),
    ],
)
async def test_bad_seller_details_are_422_with_a_sentence(
    client: AsyncClient, db: AsyncSession, body: dict[str, Any], pointer: str, words: str
) -> None:
    owner = await make_firm(db)
    problem = assert_problem(await client.patch(SETTINGS, json=body, headers=owner.headers), 422)
    assert pointers(problem) == {pointer}
    messages = [error["detail"] for error in problem.get("errors", [])] + [problem["detail"]]
    assert any(words in message for message in messages), problem
    assert (await client.get(SETTINGS, headers=owner.headers)).json()["seller_iban"] is None


async def test_invoice_shows_seller_details_bill_to_and_each_rate_once(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    assert (await client.patch(SETTINGS, json=SELLER, headers=owner.headers)).status_code == 200
    rate = await client.post(
        "/v1/tax-rates", json={"name": "USt 19%", "percent": "19"}, headers=owner.headers
    )
    assert rate.status_code == 201, rate.text
    customer = await make_client(db, owner, name="Client SARL")
    bill_to = {"vat_id": "FR12345678901", "address": "2 Rue X\n75001 Paris"}
    patched = await client.patch(
        f"/v1/clients/{customer.id}", json={"custom_fields": bill_to}, headers=owner.headers
    )
    assert patched.status_code == 200, patched.text
    response = await client.post(
        "/v1/invoices",
        json={
            "client_id": str(customer.id),
            "currency": "EUR",
            "lines": [
                {
                    "description": "Beratung",
                    "quantity": "1",
                    "unit_price": 10_000,
                    "tax_rate_ids": [rate.json()["id"]],
                }
            ],
        },
        headers=owner.headers,
    )
    assert response.status_code == 201, response.text
    invoice_id = response.json()["id"]
    finalized = await client.post(f"/v1/invoices/{invoice_id}/finalize", headers=owner.headers)
    assert finalized.status_code == 200, finalized.text
    assert finalized.json()["bill_to"] == {
        "name": "Client SARL",
        "email": customer.email,
        "phone": None,
        "vat_id": "FR12345678901",
        "address_lines": ["2 Rue X", "75001 Paris"],
    }
    # The issued invoice keeps the client as it was then.
    renamed = await client.patch(
        f"/v1/clients/{customer.id}",
        json={"name": "Renamed SAS", "custom_fields": {"vat_id": "FR99999999999"}},
        headers=owner.headers,
    )
    assert renamed.status_code == 200, renamed.text

    html = (await client.get(f"/v1/invoices/{invoice_id}/html", headers=owner.headers)).text
    assert "Client SARL" in html and "Renamed SAS" not in html and "FR999" not in html
    for shown in (
        "Muster Steuerberatung GmbH",
        "Friedrichstraße 1",
        "10117 Berlin",
        "VAT ID DE123456789",
        "IBAN DE89 3704 0044 0532 0130 00",
        "BIC COBADEFFXXX",
        "VAT ID FR12345678901",
        "75001 Paris",
        "USt 19% of 100.00 EUR",
        "19.00 EUR",
    ):
        assert shown in html, shown
    assert "USt 19%" in html and "19% 19%" not in html


async def test_an_eu_seller_issues_invoices_only_with_the_mandatory_details(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    await client.patch(SETTINGS, json={"seller_country": "AT"}, headers=owner.headers)
    invoice_id = await draft(client, db, owner)

    refused = await client.post(f"/v1/invoices/{invoice_id}/finalize", headers=owner.headers)
    problem = assert_problem(refused, 409)
    assert pointers(problem) == EU_REQUIRED
    assert "PATCH /v1/billing/settings" in problem["detail"]
    sent = await client.post(f"/v1/invoices/{invoice_id}/send", headers=owner.headers)
    assert pointers(assert_problem(sent, 409)) == EU_REQUIRED
    still = await client.get(f"/v1/invoices/{invoice_id}", headers=owner.headers)
    assert (still.json()["status"], still.json()["number"]) == ("draft", None)

    details = {**SELLER, "seller_country": "AT", "seller_vat_id": None}
    await client.patch(SETTINGS, json=details, headers=owner.headers)
    problem = assert_problem(
        await client.post(f"/v1/invoices/{invoice_id}/finalize", headers=owner.headers), 409
    )
    assert pointers(problem) == {"/seller_vat_id"}

    # A national tax number is enough where the law allows it instead of the VAT id.
    await client.patch(SETTINGS, json={"seller_tax_number": "12 345/6789"}, headers=owner.headers)
    issued = await client.post(f"/v1/invoices/{invoice_id}/finalize", headers=owner.headers)
    assert issued.status_code == 200, issued.text
    assert issued.json()["status"] == "open" and issued.json()["number"]


@pytest.mark.parametrize("country", ["US", None])
async def test_a_seller_outside_the_eu_is_not_held_to_it(
    client: AsyncClient, db: AsyncSession, country: str | None
) -> None:
    owner = await make_firm(db)
    if country is not None:
        await client.patch(SETTINGS, json={"seller_country": country}, headers=owner.headers)
    invoice_id = await draft(client, db, owner)
    issued = await client.post(f"/v1/invoices/{invoice_id}/finalize", headers=owner.headers)
    assert issued.status_code == 200, issued.text
    html = (await client.get(f"/v1/invoices/{invoice_id}/html", headers=owner.headers)).text
    assert owner.firm.name in html and "IBAN" not in html
