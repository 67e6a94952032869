"""What a person reads in a validation problem is a sentence saying what to do: never
pydantic's wording ("Value error, …", "Field required"), never a regular expression."""

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from services.csv_import import validate_row
from tests.factories import make_firm
from tests.problems import assert_problem

LEAKS = ("Value error", "Assertion failed", "should match pattern", "Input should", "String ")
PHONE = (
    "Enter a phone number: at least three digits, with spaces, dots, dashes, slashes or "
    "brackets between them and an optional leading +."
)


def assert_sentence(detail: str) -> None:
    assert detail[0].isupper() and detail.endswith("."), detail
    assert not any(leak in detail for leak in LEAKS), detail
    assert not any(mark in detail for mark in ("^", "$", "\\", "[0-9]")), detail


@pytest.mark.parametrize(
    ("body", "pointer", "expected"),
    [
        ({"name": "A", "phone": "call me"}, "/phone", PHONE),
        ({"name": "A", "kind": None}, "/kind", "This field may not be null."),
        ({}, "/name", "This field is required; add it."),
        ({"name": "x" * 201}, "/name", "Shorten this to at most 200 characters."),
        ({"name": "A", "tags": "vip"}, "/tags", "Send a list here."),
    ],
    ids=["pattern", "value error", "missing", "too long", "wrong type"],
)
async def test_each_message_is_a_plain_sentence(
    client: AsyncClient, db: AsyncSession, body: dict[str, object], pointer: str, expected: str
) -> None:
    owner = await make_firm(db)
    method, url = "POST", "/v1/clients"
    if body.get("kind", "") is None:
        created = await client.post(url, json={"name": "Base"}, headers=owner.headers)
        method, url = "PATCH", f"{url}/{created.json()['id']}"
        body = {"kind": None}

    response = await client.request(method, url, json=body, headers=owner.headers)

    errors = assert_problem(response, 422)["errors"]
    assert [(error["pointer"], error["detail"]) for error in errors] == [(pointer, expected)]
    assert_sentence(expected)


async def test_a_validator_message_of_its_own_is_kept_as_a_sentence(
    client: AsyncClient,
) -> None:
    response = await client.post(
        "/v1/signup",
        json={
            "firm_name": "Zoned",
            "name": "Zed",
            "email": "zed@example.com",
            "password": "correct horse battery staple",
            "time_zone": "Mars/Olympus",
        },
    )
    (error,) = assert_problem(response, 422)["errors"]
    assert error == {
        "pointer": "/time_zone",
        "detail": "This field must be an IANA time zone such as Europe/Paris.",
    }


def test_problems_a_service_builds_read_the_same() -> None:
    """core.errors.field_problems (services validating what they are handed, such as the
    rows of a CSV import) words its messages the same way."""
    assert validate_row({"name": "A", "phone": "call me"}) == f"phone: {PHONE}"
    assert validate_row({"name": ""}) == "name: Enter a value; this may not be empty."


@pytest.mark.parametrize(
    ("url", "body", "pointer", "expected"),
    [
        (
            "/v1/credentials",
            {"name": "CRM Token", "value": "s3cret"},
            "/name",
            "Use up to 63 lowercase letters, digits and '_', starting with a letter: crm_token.",
        ),
        (
            "/v1/billing/settings",
            {"invoice_number_prefix": "INV {month}"},
            "/invoice_number_prefix",
            "Use letters, digits, '_', '.', '/', '#', '-' and the {year} placeholder.",
        ),
    ],
    ids=["credential name", "invoice number prefix"],
)
async def test_a_format_is_explained_in_words_not_a_pattern(
    client: AsyncClient,
    db: AsyncSession,
    url: str,
    body: dict[str, object],
    pointer: str,
    expected: str,
) -> None:
    owner = await make_firm(db)
    method = "PATCH" if url.endswith("settings") else "POST"
    response = await client.request(method, url, json=body, headers=owner.headers)
    errors = assert_problem(response, 422)["errors"]
    assert [(error["pointer"], error["detail"]) for error in errors] == [(pointer, expected)]
    assert_sentence(expected)
