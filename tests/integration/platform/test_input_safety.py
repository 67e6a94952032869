"""Postgres refuses NUL (U+0000) in text and JSONB, so the API refuses it first, in one
place and the same way on every route: a 422 problem naming where the NUL was, and nothing
stored."""

import json
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.input_safety import NUL_DETAIL
from core.db import scope_to_firm
from models import (
    Automation,
    Base,
    BillingSettings,
    Client,
    ClientImport,
    Contact,
    Firm,
    Invoice,
    Task,
    TaxRate,
    User,
)
from tests.factories import Actor, make_firm
from tests.problems import assert_problem

NUL = "\x00"


@dataclass(frozen=True)
class Given:
    """What a case's request may refer to: a firm's owner and a few of its rows."""

    owner: Actor
    client_id: str
    contact_id: str
    automation_id: str


@dataclass(frozen=True)
class Case:
    method: str
    url: str
    body: Any
    where: dict[str, str]
    stored: Select[int]

    def request_url(self, given: Given) -> str:
        return self.url.format(
            client=given.client_id, contact=given.contact_id, automation=given.automation_id
        )


def stored(model: type[Base], *where: ColumnElement[bool]) -> Select[int]:
    """How many rows of ``model`` (matching ``where``) the firm in scope has."""
    return select(func.count()).select_from(model).where(*where)


def body(pointer: str) -> dict[str, str]:
    return {"pointer": pointer}


def definition(step_id: str) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "trigger": {"type": "manual"},
        "start": "go",
        "steps": {step_id: {"type": "stop"}},
    }


LINE = {"description": "Advisory", "quantity": "1", "unit_price": 100}
CLIENT = "/v1/clients/{client}"
CONTACT = CLIENT + "/contacts/{contact}"
CASES = {
    "client name": Case("POST", "/v1/clients", {"name": f"a{NUL}b"}, body("/name"), stored(Client)),
    "client tag": Case(
        "POST", "/v1/clients", {"name": "A", "tags": [f"vip{NUL}"]}, body("/tags/0"), stored(Client)
    ),
    "client custom field value": Case(
        "POST",
        "/v1/clients",
        {"name": "A", "custom_fields": {"a/b": [f"x{NUL}"]}},
        body("/custom_fields/a~1b/0"),
        stored(Client),
    ),
    "client custom field key": Case(
        "POST",
        "/v1/clients",
        {"name": "A", "custom_fields": {f"k{NUL}": 1}},
        body(f"/custom_fields/k{NUL}"),
        stored(Client),
    ),
    "client update": Case(
        "PATCH",
        CLIENT,
        {"tags": ["a", f"{NUL}"]},
        body("/tags/1"),
        stored(Client, Client.tags.contains(["a"])),
    ),
    "client search": Case(
        "GET", "/v1/clients?q=a%00b", None, {"parameter": "q", "in": "query"}, stored(Client)
    ),
    "contact create": Case(
        "POST", CLIENT + "/contacts", {"name": f"Ann{NUL}"}, body("/name"), stored(Contact)
    ),
    "contact update": Case(
        "PATCH",
        CONTACT,
        {"title": f"Dr{NUL}"},
        body("/title"),
        stored(Contact, Contact.title == "Dr"),
    ),
    "task": Case("POST", "/v1/tasks", {"title": f"t{NUL}"}, body("/title"), stored(Task)),
    "tax rate": Case(
        "POST", "/v1/tax-rates", {"name": f"VAT{NUL}", "percent": 5}, body("/name"), stored(TaxRate)
    ),
    "invoice notes": Case(
        "POST",
        "/v1/invoices",
        {"client_id": "{client}", "notes": NUL, "lines": [LINE]},
        body("/notes"),
        stored(Invoice),
    ),
    "invoice line": Case(
        "POST",
        "/v1/invoices",
        {"client_id": "{client}", "lines": [{**LINE, "description": NUL}]},
        body("/lines/0/description"),
        stored(Invoice),
    ),
    "automation name": Case(
        "POST", "/v1/automations", {"name": f"A{NUL}"}, body("/name"), stored(Automation)
    ),
    "automation draft key": Case(
        "PUT",
        "/v1/automations/{automation}/draft",
        definition(f"st{NUL}op"),
        body(f"/steps/st{NUL}op"),
        stored(Automation, Automation.draft.is_not(None)),
    ),
    "user": Case(
        "POST",
        "/v1/users",
        {"email": "ivy@example.com", "name": f"Ivy{NUL}", "role": "staff"},
        body("/name"),
        stored(User, User.email == "ivy@example.com"),
    ),
    "invoice template": Case(
        "PUT",
        "/v1/billing/settings/invoice-template",
        {"template": f"<p>{NUL}</p>"},
        body("/template"),
        stored(BillingSettings, BillingSettings.invoice_template.is_not(None)),
    ),
    "signup": Case(
        "POST",
        "/v1/signup",
        {
            "firm_name": "Nul Firm",
            "firm_slug": "nul-firm",
            "name": f"Olive{NUL}",
            "email": "olive-nul@example.com",
            "password": "correct horse battery staple",
        },
        body("/name"),
        stored(Firm, Firm.slug == "nul-firm"),
    ),
    "yaml document": Case(
        "POST",
        "/v1/automations/import",
        'automation:\n  name: "A\\0"\n  steps: [ok]\n',
        body("/automation/name"),
        stored(Automation),
    ),
    "path parameter": Case(
        "GET",
        "/v1/sso/a%00b/metadata",
        None,
        {"parameter": "firm_slug", "in": "path"},
        stored(Firm),
    ),
}


async def given(client: AsyncClient, db: AsyncSession) -> Given:
    owner = await make_firm(db)
    created = await client.post("/v1/clients", json={"name": "Base"}, headers=owner.headers)
    client_id = created.json()["id"]
    contact = await client.post(
        f"/v1/clients/{client_id}/contacts", json={"name": "Ann"}, headers=owner.headers
    )
    automation = await client.post("/v1/automations", json={"name": "Base"}, headers=owner.headers)
    for response in (created, contact, automation):
        assert response.status_code == 201, response.text
    return Given(owner, client_id, contact.json()["id"], automation.json()["id"])


async def count(db: AsyncSession, owner: Actor, statement: Select[int]) -> int:
    await scope_to_firm(db, owner.firm.id)
    return int(await db.scalar(statement) or 0)


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
async def test_nul_is_refused_with_where_it_was(
    client: AsyncClient, db: AsyncSession, case: Case
) -> None:
    setup = await given(client, db)
    before = await count(db, setup.owner, case.stored)
    content, media_type = None, "application/json"
    if isinstance(case.body, str):
        content, media_type = case.body, "application/yaml"
    elif case.body is not None:
        content = json.dumps(case.body).replace("{client}", setup.client_id)

    response = await client.request(
        case.method,
        case.request_url(setup),
        content=content,
        headers={**setup.owner.headers, "Content-Type": media_type},
    )

    problem = assert_problem(response, 422)
    assert problem["type"] == "https://firmflow.dev/problems/validation-error"
    assert len(problem["errors"]) == 1
    error = problem["errors"][0]
    assert {key: error[key] for key in case.where} == case.where
    assert "U+0000" in error["detail"]
    assert await count(db, setup.owner, case.stored) == before


async def test_escaped_backslash_before_u0000_is_ordinary_text(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    # The JSON text holds \\u0000: a backslash followed by "u0000", no NUL at all.
    response = await client.post(
        "/v1/clients",
        content=json.dumps({"name": "C:\\u0000"}),
        headers={**owner.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "C:\\u0000"


async def test_nul_in_a_form_field_is_refused(client: AsyncClient) -> None:
    slug = f"firm-{uuid.uuid4().hex[:8]}"
    response = await client.post(
        f"/v1/sso/{slug}/acs", data={"SAMLResponse": "x", "RelayState": f"/home{NUL}"}
    )
    problem = assert_problem(response, 422)
    assert [error["pointer"] for error in problem["errors"]] == ["/RelayState"]


async def test_nul_in_a_header_is_refused(client: AsyncClient, db: AsyncSession) -> None:
    owner = await make_firm(db)
    headers = {**owner.headers, "Idempotency-Key": f"key{NUL}"}
    response = await client.post("/v1/clients", json={"name": "A"}, headers=headers)
    problem = assert_problem(response, 422)
    assert problem["errors"] == [
        {"detail": NUL_DETAIL, "parameter": "idempotency-key", "in": "header"}
    ]
    assert await count(db, owner, stored(Client)) == 0


async def test_nul_in_an_imported_csv_is_refused_with_its_line(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    response = await client.post(
        "/v1/clients/imports",
        headers=owner.headers,
        files={"file": ("clients.csv", b"name,email\nAcme,a@acme.io\nGlo\x00bex,\n", "text/csv")},
    )
    problem = assert_problem(response, 422)
    assert "line 3" in problem["detail"] and "U+0000" in problem["detail"]
    assert await count(db, owner, stored(ClientImport)) == 0
