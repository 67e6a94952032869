"""The example automations under examples/automations: each imports through the API,
validates and publishes as version 1, then runs end to end on the time-skipping server
with the real workflow and activities, against a loopback HTTP server standing in for the
firm's accounting and document systems and a real SMTP server."""

import asyncio
import json
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import build_activities
from core.config import Settings
from core.db import tenant_session
from core.temporal import TASK_QUEUE, fixed_client
from models import OutboxMessage
from services.automations.validation import secret_uses
from services.outbox.kinds import MessageKind
from tests.factories import Actor, make_firm
from tests.fixtures.temporal import result_skipping_time
from tests.mailbox import Mailbox
from workflows.automation.run.contracts import RunResult, workflow_id
from workflows.automation.run.workflow import AutomationRunWorkflow

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "automations"
BASE = "/v1/automations"
RUNS = "/v1/automation-runs"
YAML = {"Content-Type": "application/yaml"}
RESULT_TIMEOUT = 60
# The example files' placeholder APIs, pointed at the loopback server by the tests.
ACCOUNTING_API = "https://accounting.example.com/api/v1"
DOCUMENTS_API = "https://documents.example.com/api"
ACCOUNTING_KEY = "acct-key-7f3a9c1e5b"
DOCUMENTS_KEY = "docs-key-2d8e4b6a0f"

Maker = async_sessionmaker[AsyncSession]


def example_files() -> list[Path]:
    return sorted(EXAMPLES.glob("*.yaml"))


def load(name: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((EXAMPLES / name).read_text())
    return document


async def import_example(
    http: AsyncClient, actor: Actor, name: str, text: str | None = None
) -> dict[str, Any]:
    """Import (and publish) an example as the firm's owner; ``text`` replaces the file's
    content when a test points the example's URLs at its own servers."""
    response = await http.post(
        f"{BASE}/import?publish=true",
        content=text if text is not None else (EXAMPLES / name).read_bytes(),
        headers={**actor.headers, **YAML},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_the_examples_are_shipped() -> None:
    assert [path.name for path in example_files()] == [
        "client-onboarding.yaml",
        "document-approval-reminder.yaml",
        "expense-approval.yaml",
        "invoice-overdue-followup.yaml",
        "weekly-digest.yaml",
    ]
    readme = (EXAMPLES / "README.md").read_text()
    for path in example_files():
        assert f"`{path.name}`" in readme, f"README.md does not explain {path.name}"


@pytest.mark.parametrize("name", [path.name for path in example_files()])
async def test_example_imports_validates_and_publishes(
    client: AsyncClient, db: AsyncSession, name: str
) -> None:
    actor = await make_firm(db)
    document = load(name)
    # Publishing needs the credentials the example reads.
    for credential in sorted({n for _, n in secret_uses(document["definition"])}):
        created = await client.post(
            "/v1/credentials", json={"name": credential, "value": "x"}, headers=actor.headers
        )
        assert created.status_code == 201, created.text

    valid = await client.post(
        f"{BASE}/validate", content=json.dumps(document["definition"]), headers=actor.headers
    )
    assert valid.status_code == 200, valid.text
    assert valid.json() == {"valid": True}

    imported = await import_example(client, actor, name)
    automation = imported["automation"]
    assert automation["name"] == document["name"]
    assert automation["description"] == document["description"]
    assert automation["draft"] == document["definition"]
    assert imported["version"]["version"] == 1
    assert imported["version"]["definition"] == document["definition"]

    activated = await client.post(f"{BASE}/{automation['id']}/activate", headers=actor.headers)
    assert activated.status_code == 200, activated.text
    assert activated.json()["status"] == "active"

    exported = await client.get(
        f"{BASE}/{automation['id']}/export?format=yaml", headers=actor.headers
    )
    assert exported.status_code == 200, exported.text
    assert yaml.safe_load(exported.text) == document


# End to end -----------------------------------------------------------------------------


@dataclass
class Seen:
    path: str
    # Names lower-cased.
    headers: dict[str, str]


@dataclass
class Systems:
    """The firm's accounting and document systems: JSON records by URL path."""

    port: int = 0
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def _handler(systems: Systems) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the tests read ``seen`` instead."""

        def do_GET(self) -> None:
            headers = {name.lower(): value for name, value in self.headers.items()}
            systems.seen.append(Seen(self.path, headers))
            record = systems.records.get(self.path)
            body = json.dumps(record if record is not None else {"error": "not found"}).encode()
            self.send_response(200 if record is not None else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


@pytest.fixture
def systems() -> Iterator[Systems]:
    found = Systems()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(found))
    found.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield found
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@asynccontextmanager
async def running_worker(
    env: WorkflowEnvironment, settings: Settings, maker: Maker, mailbox: Mailbox
) -> AsyncIterator[Worker]:
    """The run workflow and every activity as the worker builds them, sending email to
    the test's SMTP server. The queue is the one the outbox starts runs on."""
    smtp = settings.model_copy(
        update={"email_backend": "smtp", "smtp_host": "127.0.0.1", "smtp_port": mailbox.port}
    )
    worker = Worker(
        env.client,
        task_queue=TASK_QUEUE,
        workflows=[AutomationRunWorkflow],
        activities=build_activities(smtp, maker, fixed_client(env.client)),
    )
    async with worker:
        yield worker


async def finished(env: WorkflowEnvironment, run_id: str) -> RunResult:
    """The run's result, with the test server skipping time (a delay passes at once)."""
    handle = env.client.get_workflow_handle_for(
        AutomationRunWorkflow.run, workflow_id(uuid.UUID(run_id))
    )
    async with asyncio.timeout(RESULT_TIMEOUT):
        result: RunResult = await result_skipping_time(env, handle)
    return result


async def allow_loopback_with_credentials(api: AsyncClient, actor: Actor) -> None:
    allowed = await api.patch(
        "/v1/firm/http-allowlist", json={"entries": ["127.0.0.1"]}, headers=actor.headers
    )
    assert allowed.status_code == 200, allowed.text
    for name, value in (
        ("accounting_api_key", ACCOUNTING_KEY),
        ("documents_api_key", DOCUMENTS_KEY),
    ):
        created = await api.post(
            "/v1/credentials", json={"name": name, "value": value}, headers=actor.headers
        )
        assert created.status_code == 201, created.text


def pointed_at(name: str, placeholder: str, systems: Systems, path: str) -> str:
    """The example's text with its placeholder API replaced by the loopback server."""
    text = (EXAMPLES / name).read_text()
    assert text.count(placeholder) == 1
    return text.replace(placeholder, systems.url(path))


async def activated(api: AsyncClient, actor: Actor, name: str, text: str | None = None) -> str:
    automation_id: str = (await import_example(api, actor, name, text))["automation"]["id"]
    response = await api.post(f"{BASE}/{automation_id}/activate", headers=actor.headers)
    assert response.status_code == 200, response.text
    return automation_id


async def start_manual(
    api: AsyncClient, actor: Actor, automation_id: str, payload: dict[str, Any]
) -> str:
    response = await api.post(
        f"{BASE}/{automation_id}/runs", json={"payload": payload}, headers=actor.headers
    )
    assert response.status_code == 201, response.text
    run_id: str = response.json()["id"]
    return run_id


async def run_detail(api: AsyncClient, actor: Actor, run_id: str) -> dict[str, Any]:
    response = await api.get(f"{RUNS}/{run_id}", headers=actor.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def executed(detail: dict[str, Any]) -> list[str]:
    """The steps the run recorded, in the order it executed them."""
    return [step["step_id"] for step in detail["steps"]]


async def new_client(api: AsyncClient, actor: Actor, name: str, kind: str) -> dict[str, Any]:
    email = f"{name.split()[0].lower()}-{uuid.uuid4().hex[:6]}@example.com"
    response = await api.post(
        "/v1/clients", json={"name": name, "email": email, "kind": kind}, headers=actor.headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def tasks_of(api: AsyncClient, actor: Actor, client_id: str) -> list[dict[str, Any]]:
    response = await api.get(f"/v1/tasks?client_id={client_id}", headers=actor.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def events_of(maker: Maker, actor: Actor, run_id: str) -> list[dict[str, Any]]:
    async with tenant_session(actor.firm.id, maker) as session:
        messages = await session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.kind == MessageKind.event,
                OutboxMessage.payload["source"]["run_id"].astext == run_id,
                # The run's own emit_event steps; its other steps' domain events
                # (client.updated, task.created) name the run as their source too.
                OutboxMessage.payload["event"].astext.startswith("custom."),
            )
        )
        return [message.payload for message in messages]


async def test_client_onboarding_from_the_signup_webhook(
    temporal_env: WorkflowEnvironment,
    temporal_api: AsyncClient,
    committing_sessionmaker: Maker,
    settings: Settings,
    mailbox: Mailbox,
    committed_owner: Actor,
) -> None:
    api, maker = temporal_api, committing_sessionmaker
    automation_id = await activated(api, committed_owner, "client-onboarding.yaml")
    hook = await api.post(
        f"{BASE}/{automation_id}/inbound-webhook",
        json={"signing": False},
        headers=committed_owner.headers,
    )
    assert hook.status_code == 201, hook.text
    hook_path = "/v1/hooks/" + hook.json()["url"].rsplit("/", 1)[1]
    ada = await new_client(api, committed_owner, "Ada Lovelace", "person")
    acme = await new_client(api, committed_owner, "Acme Ltd", "organization")

    async with running_worker(temporal_env, settings, maker, mailbox):
        runs = {}
        for client, due in ((ada, "2026-12-04"), (acme, "2026-12-05")):
            signup = {
                "client_id": client["id"],
                "name": client["name"],
                "email": client["email"],
                "kind": client["kind"],
                "partner_id": str(committed_owner.user.id),
                "letter_due": due,
            }
            accepted = await api.post(hook_path, json=signup)
            assert accepted.status_code == 202, accepted.text
            run_id = accepted.json()["run_id"]
            result = await finished(temporal_env, run_id)
            assert result.status == "succeeded", result.error
            runs[client["id"]] = run_id

    for client, due, welcome in (
        (ada, "2026-12-04", "welcome_person"),
        (acme, "2026-12-05", "welcome_organization"),
    ):
        run_id = runs[client["id"]]
        detail = await run_detail(api, committed_owner, run_id)
        assert detail["status"] == "succeeded"
        assert detail["trigger"] == "webhook"
        assert executed(detail) == [
            "collect_letter",
            "is_person",
            welcome,
            "activate_client",
            "announce",
        ]
        [task] = await tasks_of(api, committed_owner, client["id"])
        assert task["title"] == f"Collect engagement letter: {client['name']}"
        assert task["assignee_id"] == str(committed_owner.user.id)
        assert task["due_date"] == due
        assert task["status"] == "open"
        updated = (
            await api.get(f"/v1/clients/{client['id']}", headers=committed_owner.headers)
        ).json()
        assert updated["status"] == "active"
        assert updated["tags"] == ["onboarding"]
        [event] = await events_of(maker, committed_owner, run_id)
        assert event["event"] == "custom.client_onboarded"
        assert event["payload"] == {"client_id": client["id"], "kind": client["kind"]}

    assert mailbox.recipients == [[ada["email"]], [acme["email"]]]
    assert [str(m["Subject"]) for m in mailbox.messages] == [
        "Welcome to the firm, Ada Lovelace",
        "Welcome to the firm, Acme Ltd",
    ]
    assert "last year's tax return" in mailbox.body(0)
    assert "financial statements" in mailbox.body(1)


async def test_overdue_invoice_follow_up_by_amount_and_accounting_status(
    temporal_env: WorkflowEnvironment,
    temporal_api: AsyncClient,
    committing_sessionmaker: Maker,
    settings: Settings,
    mailbox: Mailbox,
    systems: Systems,
    committed_owner: Actor,
) -> None:
    api, maker = temporal_api, committing_sessionmaker
    await allow_loopback_with_credentials(api, committed_owner)
    text = pointed_at("invoice-overdue-followup.yaml", ACCOUNTING_API, systems, "/accounting")
    automation_id = await activated(api, committed_owner, "invoice-overdue-followup.yaml", text)
    client = await new_client(api, committed_owner, "Globex Corp", "organization")
    systems.records["/accounting/invoices/INV-2"] = {"number": "INV-2", "status": "open"}
    systems.records["/accounting/invoices/INV-3"] = {
        "number": "INV-3",
        "status": "disputed",
        "dispute_reason": "hours billed twice",
    }
    systems.records["/accounting/invoices/INV-4"] = {"number": "INV-4", "status": "paid"}

    def invoice(number: str, amount: float) -> dict[str, Any]:
        return {
            "invoice_number": number,
            "client_id": client["id"],
            "client_email": client["email"],
            "client_name": client["name"],
            "amount": amount,
            "currency": "EUR",
            "due_date": "2026-10-31",
            "partner_id": str(committed_owner.user.id),
        }

    cases = [("INV-1", 400.0), ("INV-2", 2500.0), ("INV-3", 7200.0), ("INV-4", 1800.0)]
    runs: dict[str, str] = {}
    async with running_worker(temporal_env, settings, maker, mailbox):
        for number, amount in cases:
            run_id = await start_manual(
                api, committed_owner, automation_id, invoice(number, amount)
            )
            result = await finished(temporal_env, run_id)
            assert result.status == "succeeded", result.error
            runs[number] = run_id

    paths = [seen.path for seen in systems.seen]
    assert paths == [f"/accounting/invoices/INV-{n}" for n in (2, 3, 4)], "INV-1 is small"
    for seen in systems.seen:
        assert seen.headers["authorization"] == f"Bearer {ACCOUNTING_KEY}"
        assert seen.headers["idempotency-key"].endswith(":fetch_invoice:1")

    small = await run_detail(api, committed_owner, runs["INV-1"])
    assert executed(small) == ["settings", "is_material", "remind", "chased"]
    open_one = await run_detail(api, committed_owner, runs["INV-2"])
    assert executed(open_one) == [
        "settings",
        "is_material",
        "fetch_invoice",
        "by_status",
        "remind",
        "chased",
    ]
    disputed = await run_detail(api, committed_owner, runs["INV-3"])
    assert executed(disputed) == [
        "settings",
        "is_material",
        "fetch_invoice",
        "by_status",
        "partner_task",
        "chased",
    ]
    paid = await run_detail(api, committed_owner, runs["INV-4"])
    assert executed(paid) == [
        "settings",
        "is_material",
        "fetch_invoice",
        "by_status",
        "already_paid",
    ]
    for number in runs:
        detail_text = (
            await api.get(f"{RUNS}/{runs[number]}", headers=committed_owner.headers)
        ).text
        assert ACCOUNTING_KEY not in detail_text, "the credential is redacted from the run"

    assert [str(m["Subject"]) for m in mailbox.messages] == [
        "Reminder: invoice INV-1 is overdue",
        "Reminder: invoice INV-2 is overdue",
    ]
    assert mailbox.recipients == [[client["email"]], [client["email"]]]
    assert "EUR 2500.0 was due on 2026-10-31" in " ".join(mailbox.body(1).split())
    [task] = await tasks_of(api, committed_owner, client["id"])
    assert task["title"] == "Disputed invoice INV-3 (Globex Corp)"
    assert task["assignee_id"] == str(committed_owner.user.id)
    assert "hours billed twice" in task["description"]
    chased = [await events_of(maker, committed_owner, runs[n]) for n in ("INV-1", "INV-2", "INV-3")]
    assert [events[0]["payload"]["invoice_number"] for events in chased] == [
        "INV-1",
        "INV-2",
        "INV-3",
    ]
    assert await events_of(maker, committed_owner, runs["INV-4"]) == []


async def test_document_approval_reminder_after_two_days(
    temporal_env: WorkflowEnvironment,
    temporal_api: AsyncClient,
    committing_sessionmaker: Maker,
    settings: Settings,
    mailbox: Mailbox,
    systems: Systems,
    committed_owner: Actor,
) -> None:
    api, maker = temporal_api, committing_sessionmaker
    await allow_loopback_with_credentials(api, committed_owner)
    text = pointed_at("document-approval-reminder.yaml", DOCUMENTS_API, systems, "/dms")
    automation_id = await activated(api, committed_owner, "document-approval-reminder.yaml", text)
    client = await new_client(api, committed_owner, "Initech", "organization")
    systems.records["/dms/documents/D-1"] = {"id": "D-1", "status": "pending"}
    systems.records["/dms/documents/D-2"] = {"id": "D-2", "status": "approved"}

    def document(document_id: str, title: str) -> dict[str, Any]:
        return {
            "document_id": document_id,
            "title": title,
            "approver_email": "cfo@initech.example",
            "owner_id": str(committed_owner.user.id),
            "client_id": client["id"],
        }

    runs: dict[str, str] = {}
    async with running_worker(temporal_env, settings, maker, mailbox):
        for document_id, title in (("D-1", "2025 annual accounts"), ("D-2", "Engagement letter")):
            run_id = await start_manual(
                api, committed_owner, automation_id, document(document_id, title)
            )
            result = await finished(temporal_env, run_id)
            assert result.status == "succeeded", result.error
            runs[document_id] = run_id

    assert [seen.path for seen in systems.seen] == ["/dms/documents/D-1", "/dms/documents/D-2"]
    assert all(s.headers["authorization"] == f"Bearer {DOCUMENTS_KEY}" for s in systems.seen)
    pending = await run_detail(api, committed_owner, runs["D-1"])
    assert executed(pending) == [
        "settings",
        "wait",
        "check_status",
        "approved",
        "remind_approver",
        "follow_up",
    ]
    started = {s["step_id"]: s["started_at"] for s in pending["steps"]}
    waited = datetime.fromisoformat(started["check_status"]) - datetime.fromisoformat(
        started["wait"]
    )
    assert waited >= timedelta(days=2), "the check runs two (skipped) days after the start"
    approved = await run_detail(api, committed_owner, runs["D-2"])
    assert executed(approved) == ["settings", "wait", "check_status", "approved", "done"]

    assert mailbox.recipients == [["cfo@initech.example"]]
    assert str(mailbox.messages[0]["Subject"]) == "Waiting for your approval: 2025 annual accounts"
    [task] = await tasks_of(api, committed_owner, client["id"])
    assert task["title"] == "Follow up approval: 2025 annual accounts"
    assert task["assignee_id"] == str(committed_owner.user.id)
