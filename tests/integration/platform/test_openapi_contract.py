"""The OpenAPI document tells the truth: schemathesis generates requests for every operation
from /openapi.json, sends them in-process to the app (signed in as a firm's owner, inside a
rolled-back transaction) and checks each answer against the document: no 5xx, a declared
status, a declared content type and a body matching its schema.

Hypothesis runs synchronously, so the app, its database connection and the HTTP client
live on an event loop of their own, in a thread; each generated case is sent there."""

import asyncio
import json
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import hypothesis
import pytest
import requests
import schemathesis
from fastapi import APIRouter, FastAPI
from httpx import ASGITransport, AsyncClient, Response
from hypothesis import HealthCheck, Phase, given, strategies
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.ext.asyncio import AsyncConnection, async_sessionmaker, create_async_engine

from api.app import create_app
from core.config import Settings
from core.errors import Conflict
from tests.esignature_factories import draft_envelope
from tests.factories import Actor, make_firm
from tests.saml_idp import sample_metadata

T = TypeVar("T")


def not_an_undeclared_server_error(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    """``not_a_server_error``, except for a 503 the operation declares: with no Temporal in
    the tests, answering "unavailable" is what the document promises."""
    declared = case.operation.definition.raw.get("responses", {})
    if response.status_code == 503 and "503" in declared:
        return None
    return not_a_server_error(ctx, response, case)


CHECKS = [
    not_an_undeclared_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES_PER_OPERATION = 6
BASE_URL = "http://testserver"
# Ends every credential of the caller, so it runs after everything else.
LAST = ("POST", "/v1/me/sessions/revoke-all")


# The smallest automation: a manual trigger and one step that stops.
AUTOMATION = {
    "schema_version": 1,
    "trigger": {"type": "manual"},
    "start": "done",
    "steps": {"done": {"type": "stop"}},
}


class LoopThread:
    """An event loop running in a thread; ``run`` waits for a coroutine on it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine: Awaitable[T]) -> T:
        async def wrapped() -> T:
            return await coroutine

        return asyncio.run_coroutine_threadsafe(wrapped(), self.loop).result()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


@dataclass
class Api:
    """The app with its own connection and transaction, and an owner's credentials."""

    loop: LoopThread
    app: FastAPI
    http: AsyncClient
    headers: dict[str, str]
    # Path parameter values that name real objects of the owner's firm.
    known: dict[str, str]

    def send(self, case: schemathesis.Case) -> Response:
        kwargs = case.as_transport_kwargs(base_url=BASE_URL, headers=self.headers)

        async def send() -> Response:
            request = self.http.build_request(**_as_httpx(kwargs))
            # Read now, so the checks can look at a multipart body after it was sent.
            await request.aread()
            return await self.http.send(request)

        return self.loop.run(send())


def _as_httpx(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Schemathesis prepares arguments for requests; httpx names a raw body ``content``
    and takes cookies on the client, so they travel here as a header."""
    out = {k: v for k, v in kwargs.items() if k in {"method", "url", "params"}}
    headers = dict(kwargs.get("headers") or {})
    cookies = kwargs.get("cookies") or {}
    if cookies:
        headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
    out["headers"] = headers
    if "json" in kwargs:
        out["json"] = kwargs["json"]
    data = kwargs.get("data")
    if kwargs.get("files"):
        # Multipart parts as schemathesis generates them (numbers among them), encoded the
        # way requests would send them.
        prepared = requests.Request(
            "POST", BASE_URL, files=kwargs["files"], data=data or {}
        ).prepare()
        out["content"] = prepared.body
        headers["Content-Type"] = prepared.headers["Content-Type"]
    elif isinstance(data, (bytes, str)):
        out["content"] = data
    elif data is not None:
        out["data"] = data
    return out


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    loop = LoopThread()
    state: dict[str, Any] = {}

    async def start() -> Api:
        engine = create_async_engine(settings.runtime_url, pool_size=1)
        connection: AsyncConnection = await engine.connect()
        transaction = await connection.begin()
        maker = async_sessionmaker(
            bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
        )
        async with maker() as session:
            owner = await make_firm(session, "Contract")
        app = create_app(settings, sessionmaker=maker)
        http = AsyncClient(
            transport=ASGITransport(app=app, raise_app_exceptions=False), base_url=BASE_URL
        )
        state.update(engine=engine, connection=connection, transaction=transaction, http=http)
        known = await seed(http, owner)
        return Api(loop=loop, app=app, http=http, headers=owner.headers, known=known)

    async def stop() -> None:
        await state["http"].aclose()
        await state["transaction"].rollback()
        await state["connection"].close()
        await state["engine"].dispose()

    try:
        yield loop.run(start())
    finally:
        if state:
            loop.run(stop())
        loop.close()


async def seed(http: AsyncClient, owner: Actor) -> dict[str, str]:
    """A few objects made through the API, so generated requests also reach routes' success
    paths and state conflicts rather than 404s only."""

    async def create(path: str, body: dict[str, Any]) -> str:
        response = await http.post(path, json=body, headers=owner.headers)
        assert response.status_code == 201, response.text
        created: str = response.json()["id"]
        return created

    async def succeed(method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = await http.request(method, path, json=body, headers=owner.headers)
        assert response.is_success, response.text
        return response.json()

    client_id = await create("/v1/clients", {"name": "Contract Client Ltd"})
    automation_id = await create("/v1/automations", {"name": "Contract automation"})
    automation = f"/v1/automations/{automation_id}"
    await succeed("PUT", f"{automation}/draft", AUTOMATION)
    await succeed("POST", f"{automation}/publish")
    await succeed("POST", f"{automation}/activate")
    run = await succeed("POST", f"{automation}/runs", {"payload": {}})
    lines = [{"description": "Advice", "quantity": "2", "unit_price": 15000}]
    # An open invoice with a payment, beside the draft the other routes work on.
    billed = await create("/v1/invoices", {"client_id": client_id, "lines": lines})
    await succeed("POST", f"/v1/invoices/{billed}/finalize")
    payment_id = await create(
        f"/v1/invoices/{billed}/payments",
        {"amount": 10000, "currency": "USD", "method": "bank_transfer"},
    )
    recurring = {
        "client_id": client_id,
        "template": {"lines": lines},
        "rrule": "FREQ=MONTHLY",
        "starts_at_local": "2030-01-01T09:00:00",
    }
    hook = await succeed("POST", f"{automation}/inbound-webhook", {"signing": False})
    secrets = await succeed(
        "POST", "/v1/billing/stripe/webhook-secrets", {"secrets": [{"secret": "whsec_contract"}]}
    )
    sso = {"idp_metadata_xml": sample_metadata(), "enabled": True}
    uploaded = await http.post(
        "/v1/documents",
        data={"title": "Contract letter"},
        files={"file": ("letter.txt", b"An engagement letter.\n", "text/plain")},
        headers=owner.headers,
    )
    assert uploaded.status_code == 201, uploaded.text
    document = uploaded.json()
    # A DocuSign connection: the provider webhooks then verify (and refuse) what they get.
    docusign = {"access_token": "contract", "hmac_keys": ["contract"]}
    esignature_credential = await create(
        "/v1/credentials", {"name": "docusign", "value": json.dumps(docusign)}
    )
    await succeed(
        "PUT",
        "/v1/firm/esignature-connections/docusign",
        {
            "credential_id": esignature_credential,
            "account_id": "contract",
            "base_url": "https://demo.docusign.net",
        },
    )
    envelope = await draft_envelope(http, owner)
    template = {
        "name": "Contract template",
        "title": "Engagement letter",
        "document_ids": [envelope["documents"][0]["document_id"]],
        "roles": [{"key": "client", "name": "Client"}],
    }
    return {
        "envelope_id": envelope["id"],
        "envelope_document_id": envelope["documents"][0]["id"],
        "recipient_id": envelope["recipients"][0]["id"],
        "page": "1",
        "template_id": await create("/v1/envelope-templates", template),
        "provider": "docusign",
        "document_id": document["id"],
        "version_id": document["current_version_id"],
        "folder_id": await create("/v1/document-folders", {"name": "Contract folder"}),
        "policy_id": await create(
            "/v1/retention-policies", {"document_type": "contract", "retain_days": 3650}
        ),
        "hold_id": await create(
            "/v1/legal-holds", {"client_id": client_id, "reason": "contract hold"}
        ),
        "sso_config_id": await create("/v1/sso-configs", sso),
        "token": hook["url"].rsplit("/", 1)[-1],
        "token_id": await create("/v1/api-tokens", {"name": "contract"}),
        "secret_id": secrets["items"][0]["id"],
        "payment_id": payment_id,
        "recurring_invoice_id": await create("/v1/recurring-invoices", recurring),
        "credential_id": await create("/v1/credentials", {"name": "crm", "value": "s3cret"}),
        "automation_id": automation_id,
        "version": "1",
        "a": "1",
        "b": "1",
        "run_id": run["id"],
        "firm_id": str(owner.firm.id),
        "firm_slug": owner.firm.slug,
        "user_id": str(owner.user.id),
        "client_id": client_id,
        "contact_id": await create(f"/v1/clients/{client_id}/contacts", {"name": "Ada"}),
        "task_id": await create("/v1/tasks", {"title": "Call the client"}),
        "tax_rate_id": await create("/v1/tax-rates", {"name": "VAT", "percent": "20"}),
        "invoice_id": await create(
            "/v1/invoices",
            {
                "client_id": client_id,
                "lines": [{"description": "Advice", "quantity": "2", "unit_price": 15000}],
            },
        ),
    }


def contract_failures(api: Api, examples: int = EXAMPLES_PER_OPERATION) -> list[str]:
    """Every operation's failed checks, one line each (the first failure per operation)."""
    schema = schemathesis.openapi.from_dict(api.app.openapi())
    operations = [result.ok() for result in schema.get_all_operations()]
    # Deletions after the rest, so the seeded objects are there for every other operation.
    operations.sort(key=lambda op: ((op.method.upper(), op.path) == LAST, op.method == "delete"))
    failures: list[str] = []
    for operation in operations:
        known = {name: api.known[name] for name in _path_parameters(operation) if name in api.known}
        variants = [
            operation.as_strategy(schemathesis.GenerationMode.POSITIVE),
            operation.as_strategy(schemathesis.GenerationMode.NEGATIVE),
        ]
        if known:
            variants.append(
                operation.as_strategy(schemathesis.GenerationMode.POSITIVE, path_parameters=known)
            )
        strategy = strategies.one_of(variants)
        check = _checker(api, strategy, examples)
        try:
            check()
        except (Exception, FailureGroup) as failure:
            failures.append(f"{operation.method.upper()} {operation.path}: {_summary(failure)}")
    return failures


def _path_parameters(operation: schemathesis.APIOperation) -> list[str]:
    return [p["name"] for p in operation.definition.raw.get("parameters", []) if p["in"] == "path"]


def _checker(api: Api, strategy: Any, examples: int) -> Callable[[], None]:
    @hypothesis.settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        # Shrinking would cost minutes; the first failing case is reported as found.
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def check(case: schemathesis.Case) -> None:
        case.validate_response(api.send(case), checks=CHECKS)

    return check


def _summary(failure: BaseException) -> str:
    """The failure with the response that caused it, on one line."""
    return " ".join(str(failure).split())[:600]


def test_every_operation_answers_as_documented(api: Api) -> None:
    failures = contract_failures(api)
    assert not failures, "\n".join(failures)


def test_an_undeclared_status_breaks_the_contract(api: Api) -> None:
    """The check catches a route that answers with a status its document does not list."""
    router = APIRouter()

    @router.post("/v1/contract-probe")
    async def probe() -> dict[str, str]:
        raise Conflict("This probe always conflicts")

    api.app.include_router(router)
    api.app.openapi_schema = None
    schema = schemathesis.openapi.from_dict(api.app.openapi())
    operation = schema["/v1/contract-probe"]["POST"]
    case = operation.Case()
    with pytest.raises(FailureGroup) as caught:
        case.validate_response(api.send(case), checks=[status_code_conformance])
    assert "Undocumented status code" in str(caught.value)
    assert "Received: 409" in str(caught.value)


@pytest.mark.parametrize("path", ["/v1/reports/revenue", "/v1/reports/receivables-aging"])
def test_a_report_in_csv_is_documented(api: Api, path: str) -> None:
    schema = schemathesis.openapi.from_dict(api.app.openapi())
    case = schema[path]["GET"].Case(query={"format": "csv"})
    response = api.send(case)
    assert response.headers["content-type"].startswith("text/csv")
    case.validate_response(response, checks=CHECKS)
