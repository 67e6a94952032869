"""Every integer the API takes has the range of the column that stores it, declared in the
OpenAPI document: a path number no row can have is a 404, a body number out of range a 422
with its pointer, never a 500 from Postgres."""

from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from core.bounds import INT4_MAX
from services.billing.recurrence import MAX_COUNT
from tests.billing_factories import make_client
from tests.factories import make_firm
from tests.problems import assert_problem, pointers

TOO_BIG = INT4_MAX + 1
DEFINITION = {
    "schema_version": 1,
    "trigger": {"type": "manual"},
    "start": "done",
    "steps": {"done": {"type": "stop"}},
}
VERSION_URLS = [
    ("GET", "/versions/{n}"),
    ("POST", "/versions/{n}/rollback"),
    ("GET", "/versions/1/diff/{n}"),
    ("GET", "/versions/{n}/diff/1"),
]


@pytest.mark.parametrize("number", [TOO_BIG, 0, -1])
@pytest.mark.parametrize(("method", "template"), VERSION_URLS)
async def test_a_version_number_no_version_can_have_is_404(
    client: AsyncClient, db: AsyncSession, method: str, template: str, number: int
) -> None:
    owner = await make_firm(db)
    created = await client.post("/v1/automations", json={"name": "A"}, headers=owner.headers)
    automation = f"/v1/automations/{created.json()['id']}"
    # Version 1 exists, so a diff from or to it reaches the other number.
    await client.put(f"{automation}/draft", json=DEFINITION, headers=owner.headers)
    published = await client.post(f"{automation}/publish", headers=owner.headers)
    assert published.status_code == 201, published.text
    url = automation + template.format(n=number)

    problem = assert_problem(await client.request(method, url, headers=owner.headers), 404)
    assert problem["type"] == "https://firmflow.dev/problems/not-found"
    assert problem["detail"].endswith("check the address.")


async def test_a_version_that_is_not_a_number_stays_a_422(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    created = await client.post("/v1/automations", json={"name": "A"}, headers=owner.headers)
    url = f"/v1/automations/{created.json()['id']}/versions/latest"
    problem = assert_problem(await client.get(url, headers=owner.headers), 422)
    assert problem["errors"][0]["parameter"] == "version"


@pytest.mark.parametrize("method", ["POST", "PATCH"])
async def test_a_body_integer_beyond_its_column_is_422_with_its_pointer(
    client: AsyncClient, db: AsyncSession, method: str
) -> None:
    owner = await make_firm(db)
    customer = await make_client(db, owner)
    body: dict[str, Any] = {
        "client_id": str(customer.id),
        "template": {"lines": [{"description": "Fee", "quantity": "1", "unit_price": 100}]},
        "rrule": "FREQ=MONTHLY",
        "starts_at_local": "2099-01-01T09:00:00",
    }
    url = "/v1/recurring-invoices"
    if method == "PATCH":
        created = await client.post(url, json=body, headers=owner.headers)
        assert created.status_code == 201, created.text
        url, body = f"{url}/{created.json()['id']}", {}

    response = await client.request(
        method, url, json=body | {"count": TOO_BIG}, headers=owner.headers
    )

    assert pointers(assert_problem(response, 422)) == {"/count"}


async def test_the_openapi_document_declares_the_bounds(client: AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    automation = "/v1/automations/{automation_id}/versions"
    for path, method in [
        (f"{automation}/{{version}}", "get"),
        (f"{automation}/{{version}}/rollback", "post"),
        (f"{automation}/{{a}}/diff/{{b}}", "get"),
    ]:
        for parameter in document["paths"][path][method]["parameters"]:
            if parameter["in"] == "path" and parameter["name"] != "automation_id":
                assert parameter["schema"]["minimum"] == 1
                assert parameter["schema"]["maximum"] == INT4_MAX
    count = document["components"]["schemas"]["RecurringFields"]["properties"]["count"]
    assert {"type": "integer", "minimum": 1, "maximum": MAX_COUNT} in count["anyOf"]
