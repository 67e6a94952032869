"""The action step activities and ``automation.finish_run`` against committed Postgres, a
real HTTP server and a real SMTP server on loopback, each called in a real activity
context (ActivityEnvironment): effects, records, idempotency, errors and redaction."""

import asyncio
import dataclasses
import itertools
import json
import logging
import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiosmtpd.controller import Controller
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities import AutomationActivities
from core.config import Settings
from core.crypto import Cipher
from core.db import tenant_session
from core.principal import Principal
from models import (
    AutomationRun,
    AutomationRunStep,
    Client,
    OutboxMessage,
    Task,
)
from models.automation_run import RunStatus, RunTrigger
from providers.email import EmailProvider, OutgoingEmail, SmtpEmailProvider
from services import clients
from services.automations.automations import AutomationFields, create_automation, publish
from services.credentials import CredentialFields, create_credential
from services.firm_settings import HttpAllowlist, set_http_allowlist
from tests.factories import Actor, make_firm
from tests.mailbox import Mailbox, free_port
from workflows.automation.run.contracts import (
    STEP_FAILED,
    STEP_INVALID,
    FinishRun,
    StepCall,
    StepOutcome,
    StepRecord,
)

Maker = async_sessionmaker[AsyncSession]
# Each record of a run has its own position; unique across the module is simplest.
POSITIONS = itertools.count(1)
SENDER = "firmflow <no-reply@firmflow.test>"
SECRET = "tok3n-s3cr3t-value-9f2c"
DEFINITION = {
    "schema_version": 1,
    "trigger": {"type": "manual"},
    "start": "notify",
    "steps": {"notify": {"type": "emit_event", "params": {"name": "run.noticed"}}},
}


# A local HTTP server ---------------------------------------------------------------------


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class LocalServer:
    port: int
    seen: list[Seen] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def _handler(server: LocalServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the tests read ``seen`` instead."""

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            server.seen.append(Seen(self.command, self.path, dict(self.headers), body))
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            if parts.path == "/echo":
                echoed = {
                    "authorization": self.headers.get("Authorization"),
                    "body": json.loads(body) if body else None,
                }
                self._send(200, json.dumps(echoed).encode(), "application/json")
            elif parts.path == "/status":
                self._send(int(query["code"]), b"status", "text/plain")
            elif parts.path == "/big":
                self._send(200, b"x" * int(query["n"]), "text/plain")
            else:
                self._send(404, b"{}", "application/json")

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

    return Handler


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True


@pytest.fixture
def server() -> Iterator[LocalServer]:
    local = LocalServer(port=0)
    httpd = QuietServer(("127.0.0.1", 0), _handler(local))
    local.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield local
    httpd.shutdown()
    httpd.server_close()


# Runs and calls ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    actor: Actor
    run_id: uuid.UUID

    @property
    def firm_id(self) -> uuid.UUID:
        return self.actor.firm.id


@pytest.fixture
def cipher(settings: Settings) -> Cipher:
    return Cipher.from_settings(settings)


async def new_run(
    maker: Maker,
    cipher: Cipher,
    *,
    allowlist: Sequence[str] = (),
    credentials: dict[str, str] | None = None,
) -> Run:
    """A fresh firm (committed) with a published automation and a running run of it."""
    async with maker() as session:
        actor = await make_firm(session)
    principal = Principal.system(actor.firm.id)
    async with tenant_session(actor.firm.id, maker) as session:
        automation = await create_automation(
            session, principal, fields=AutomationFields(name="Chase"), draft=DEFINITION
        )
        await publish(session, principal, automation.id)
        if allowlist:
            await set_http_allowlist(
                session, principal, allowlist=HttpAllowlist(entries=list(allowlist))
            )
        for name, value in (credentials or {}).items():
            await create_credential(
                session,
                principal,
                cipher,
                fields=CredentialFields(name=name, value=SecretStr(value)),
            )
        run = AutomationRun(
            firm_id=actor.firm.id,
            automation_id=automation.id,
            version=1,
            trigger=RunTrigger.manual,
            trigger_payload={"name": "Olive"},
        )
        session.add(run)
        await session.flush()
        run_id = run.id
    return Run(actor=actor, run_id=run_id)


def step_call(
    run: Run,
    step_type: str,
    params: dict[str, Any],
    *,
    step_id: str = "act",
    visit: int = 1,
    trigger: dict[str, Any] | None = None,
    pending: Sequence[StepRecord] = (),
) -> StepCall:
    return StepCall(
        position=next(POSITIONS),
        run_id=run.run_id,
        firm_id=run.firm_id,
        step_id=step_id,
        step_type=step_type,
        visit=visit,
        params=params,
        context={
            "trigger": trigger if trigger is not None else {"name": "Olive"},
            "steps": {},
            "vars": {},
            "run": {"id": str(run.run_id), "version": 1},
            "firm": {"id": str(run.firm_id), "time_zone": "UTC"},
        },
        started_at=datetime.now(UTC),
        pending=list(pending),
    )


def control_record(step_id: str = "remember") -> StepRecord:
    now = datetime.now(UTC)
    return StepRecord(
        position=next(POSITIONS),
        step_id=step_id,
        step_type="set",
        status="succeeded",
        input={"vars": {"x": 1}},
        output={"x": 1},
        started_at=now,
        finished_at=now,
    )


def activities(
    maker: Maker, cipher: Cipher, email: EmailProvider | None = None
) -> AutomationActivities:
    return AutomationActivities(
        maker,
        cipher=cipher,
        email=email or SmtpEmailProvider(host="127.0.0.1", port=free_port(), sender=SENDER),
    )


def environment(attempt: int = 1) -> ActivityEnvironment:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, attempt=attempt)
    return env


async def step_rows(maker: Maker, run: Run) -> dict[str, AutomationRunStep]:
    async with tenant_session(run.firm_id, maker) as session:
        rows = (
            await session.scalars(
                select(AutomationRunStep).where(AutomationRunStep.run_id == run.run_id)
            )
        ).all()
    return {f"{row.step_id}#{row.visit}": row for row in rows}


async def failure(env: ActivityEnvironment, activity_fn: Any, arg: Any) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        await env.run(activity_fn, arg)
    error = caught.value
    # Only the redacted message travels: no cause with text of its own.
    assert error.__cause__ is None
    return error


def assert_invalid(error: ApplicationError, message: str) -> None:
    assert (error.type, error.non_retryable) == (STEP_INVALID, True)
    assert message in error.message, error.message


def assert_failed(error: ApplicationError, message: str) -> None:
    assert (error.type, error.non_retryable) == (STEP_FAILED, False)
    assert message in error.message, error.message


def dumped(value: Any) -> str:
    return json.dumps(value, default=str)


# http_request ---------------------------------------------------------------------------


async def test_http_request_sends_once_records_with_pending_and_redacts_the_secret(
    committing_sessionmaker: Maker,
    cipher: Cipher,
    server: LocalServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    maker = committing_sessionmaker
    run = await new_run(maker, cipher, allowlist=["127.0.0.1"], credentials={"crm_key": SECRET})
    acts = activities(maker, cipher)
    call = step_call(
        run,
        "http_request",
        {
            "method": "POST",
            "url": server.url("/echo"),
            "headers": {"Authorization": "Bearer {{ secrets.crm_key }}"},
            "body": {"name": "{{ trigger.name }}", "key": "{{ secrets.crm_key }}"},
            "timeout": 10,
            "expected_statuses": [],
        },
        step_id="call",
        pending=[control_record()],
    )

    with caplog.at_level(logging.DEBUG):
        outcome = await environment().run(acts.http_request, call)

    assert len(server.seen) == 1
    sent = server.seen[0]
    assert sent.headers["Authorization"] == f"Bearer {SECRET}"
    assert sent.headers["Idempotency-Key"] == f"{run.run_id}:call:1"
    assert json.loads(sent.body) == {"name": "Olive", "key": SECRET}
    assert outcome.attempt == 1
    assert isinstance(outcome.output, dict)
    assert outcome.output["status"] == 200
    assert outcome.output["body"] == {
        "authorization": "Bearer [redacted]",
        "body": {"name": "Olive", "key": "[redacted]"},
    }
    assert isinstance(outcome.input, dict)
    assert outcome.input["headers"] == {"Authorization": "Bearer [redacted]"}
    assert outcome.input["body"] == {"name": "Olive", "key": "[redacted]"}

    rows = await step_rows(maker, run)
    assert set(rows) == {"call#1", "remember#1"}
    recorded = rows["call#1"]
    assert (recorded.status, recorded.attempt, recorded.step_type) == (
        "succeeded",
        1,
        "http_request",
    )
    assert (recorded.input, recorded.output) == (outcome.input, outcome.output)
    assert recorded.finished_at >= recorded.started_at
    assert (rows["remember#1"].status, rows["remember#1"].output) == ("succeeded", {"x": 1})

    # A retried attempt (say the worker died before Temporal heard back) finds the row.
    again = await environment(attempt=2).run(acts.http_request, call)
    assert again == outcome
    assert len(server.seen) == 1
    assert SECRET not in dumped([outcome.model_dump(), [r.input for r in rows.values()]])
    assert SECRET not in dumped([r.output for r in rows.values()])
    assert SECRET not in caplog.text


async def test_http_request_statuses_decide_success_and_retry(
    committing_sessionmaker: Maker, cipher: Cipher, server: LocalServer
) -> None:
    maker = committing_sessionmaker
    run = await new_run(maker, cipher, allowlist=["127.0.0.1"], credentials={"crm_key": SECRET})
    acts = activities(maker, cipher)
    env = environment(attempt=3)

    def call(step_id: str, code: int, expected: list[int] | None = None) -> StepCall:
        return step_call(
            run,
            "http_request",
            {
                "url": server.url(f"/status?code={code}"),
                "headers": {"X-Api-Key": "{{ secrets.crm_key }}"},
                "expected_statuses": expected or [],
            },
            step_id=step_id,
        )

    for step_id, code in [("unavailable", 503), ("throttled", 429), ("slow", 408)]:
        error = await failure(env, acts.http_request, call(step_id, code))
        assert_failed(error, f"127.0.0.1 answered HTTP {code}; expected 2xx")
        assert error.details[0]["attempt"] == 3
        assert error.details[0]["input"]["headers"] == {"X-Api-Key": "[redacted]"}
    error = await failure(env, acts.http_request, call("missing", 404))
    assert_invalid(error, "127.0.0.1 answered HTTP 404; expected 2xx")
    error = await failure(env, acts.http_request, call("picky", 200, [201, 204]))
    assert_invalid(error, "answered HTTP 200; expected 201, 204")

    gone = await env.run(acts.http_request, call("gone", 404, [404, 410]))
    assert isinstance(gone.output, dict)
    assert (gone.output["status"], gone.output["body"]) == (404, "status")
    # Failed attempts leave no row: the workflow records a step that finally failed.
    assert set(await step_rows(maker, run)) == {"gone#1"}


async def test_http_request_to_loopback_is_refused_without_the_allow_list(
    committing_sessionmaker: Maker, cipher: Cipher, server: LocalServer
) -> None:
    maker = committing_sessionmaker
    run = await new_run(maker, cipher)
    acts = activities(maker, cipher)

    error = await failure(
        environment(),
        acts.http_request,
        step_call(run, "http_request", {"url": server.url("/echo")}),
    )

    assert_invalid(error, "Requests to 127.0.0.1 are refused")
    assert error.details[0]["input"]["url"] == server.url("/echo")
    assert server.seen == []
    assert await step_rows(maker, run) == {}


async def test_http_request_output_over_the_cap_is_invalid(
    committing_sessionmaker: Maker, cipher: Cipher, server: LocalServer
) -> None:
    maker = committing_sessionmaker
    run = await new_run(maker, cipher, allowlist=["127.0.0.1"])
    acts = activities(maker, cipher)

    error = await failure(
        environment(),
        acts.http_request,
        step_call(run, "http_request", {"url": server.url(f"/big?n={300 * 1024}")}),
    )

    assert_invalid(error, "The step output exceeds 256 KB serialised")
    assert await step_rows(maker, run) == {}


async def test_expression_errors_are_invalid_and_redacted(
    committing_sessionmaker: Maker,
    cipher: Cipher,
    server: LocalServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    maker = committing_sessionmaker
    run = await new_run(maker, cipher, allowlist=["127.0.0.1"], credentials={"crm_key": SECRET})
    acts = activities(maker, cipher)

    with caplog.at_level(logging.DEBUG):
        # The undefined-name message quotes the key it looked up: the secret value.
        leaky = await failure(
            environment(),
            acts.http_request,
            step_call(run, "http_request", {"url": "{{ trigger[secrets.crm_key] }}"}),
        )
        undefined = await failure(
            environment(),
            acts.http_request,
            step_call(run, "http_request", {"url": "{{ nowhere.url }}"}),
        )
        not_a_string = await failure(
            environment(),
            acts.http_request,
            step_call(run, "http_request", {"url": "{{ 42 }}"}),
        )

    assert_invalid(leaky, "[redacted]")
    assert SECRET not in leaky.message
    assert leaky.details[0]["input"] is None
    assert_invalid(undefined, "nowhere")
    assert_invalid(not_a_string, "url: Enter text here.")
    assert not_a_string.details[0]["input"] == {"url": 42}
    assert server.seen == []
    assert SECRET not in caplog.text


async def test_another_firms_credential_is_unknown(
    committing_sessionmaker: Maker, cipher: Cipher, server: LocalServer
) -> None:
    maker = committing_sessionmaker
    await new_run(maker, cipher, credentials={"other_key": SECRET})
    run = await new_run(maker, cipher, allowlist=["127.0.0.1"])
    acts = activities(maker, cipher)

    error = await failure(
        environment(),
        acts.http_request,
        step_call(
            run,
            "http_request",
            {"url": server.url("/echo"), "headers": {"X-Key": "{{ secrets.other_key }}"}},
        ),
    )

    assert_invalid(error, "No credential named 'other_key' in this firm")
    assert server.seen == []


def local_environment(attempt: int = 1) -> ActivityEnvironment:
    env = environment(attempt)
    env.info = dataclasses.replace(env.info, is_local=True)
    return env


async def first_task_http_call(
    maker: Maker, cipher: Cipher, server: LocalServer
) -> tuple[Run, AutomationActivities, StepCall, StepCall]:
    """A run allowed to call the server, the activities, its HTTP step's call, and the same
    call as scheduled in the run's first workflow task."""
    run = await new_run(maker, cipher, allowlist=["127.0.0.1"])
    call = step_call(run, "http_request", {"url": server.url("/echo")}, step_id="call")
    return run, activities(maker, cipher), call, call.model_copy(update={"first_task": True})


async def test_a_local_step_outside_the_first_workflow_task_finds_its_record_first(
    committing_sessionmaker: Maker, cipher: Cipher, server: LocalServer
) -> None:
    # A worker that dies mid-task takes the task's local results with it: the next worker
    # runs those steps again at attempt 1, in a task that is not the run's first.
    maker = committing_sessionmaker
    run, acts, call, fresh = await first_task_http_call(maker, cipher, server)

    outcome = await local_environment().run(acts.http_request, fresh)
    again = await local_environment().run(acts.http_request, call)

    assert again == outcome
    assert len(server.seen) == 1
    assert set(await step_rows(maker, run)) == {"call#1"}


async def test_a_first_task_step_reads_nothing_before_its_request_and_keeps_the_first_record(
    committing_sessionmaker: Maker, cipher: Cipher, server: LocalServer
) -> None:
    # Run twice as the first attempt of the first task (which only a bug could do), the
    # request goes out twice under one idempotency key, and the step keeps the outcome
    # recorded first: the read before the request is what such an attempt saves.
    maker = committing_sessionmaker
    run, acts, _, fresh = await first_task_http_call(maker, cipher, server)

    outcome = await local_environment().run(acts.http_request, fresh)
    repeated = await local_environment().run(acts.http_request, fresh)

    assert repeated == outcome
    assert [seen.headers["Idempotency-Key"] for seen in server.seen] == [f"{run.run_id}:call:1"] * 2


async def test_a_step_of_another_firms_run_is_refused_before_any_effect(
    committing_sessionmaker: Maker, cipher: Cipher, server: LocalServer
) -> None:
    maker = committing_sessionmaker
    theirs = await new_run(maker, cipher, allowlist=["127.0.0.1"])
    mine = await new_run(maker, cipher, allowlist=["127.0.0.1"])
    acts = activities(maker, cipher)
    call = step_call(theirs, "http_request", {"url": server.url("/echo")}).model_copy(
        update={"firm_id": mine.firm_id}
    )

    error = await failure(environment(), acts.http_request, call)

    assert_invalid(error, "No automation run with this id in this firm")
    assert server.seen == []
    assert await step_rows(maker, theirs) == {}


async def test_a_first_task_step_on_another_firms_run_records_nothing_on_it(
    committing_sessionmaker: Maker, cipher: Cipher, server: LocalServer
) -> None:
    # It reads nothing before its request (the run's workflow, started by the firm's own
    # start path moments before, is the one caller): the request goes out under the
    # calling firm's allow-list, and the recording transaction refuses the other's run.
    maker = committing_sessionmaker
    theirs = await new_run(maker, cipher, allowlist=["127.0.0.1"])
    mine = await new_run(maker, cipher, allowlist=["127.0.0.1"])
    acts = activities(maker, cipher)
    call = step_call(theirs, "http_request", {"url": server.url("/echo")}).model_copy(
        update={"firm_id": mine.firm_id, "first_task": True}
    )

    error = await failure(local_environment(), acts.http_request, call)

    assert_invalid(error, "No automation run with this id in this firm")
    assert await step_rows(maker, theirs) == {}
    assert await step_rows(maker, mine) == {}


async def test_a_call_to_the_wrong_activity_is_invalid(
    committing_sessionmaker: Maker, cipher: Cipher
) -> None:
    maker = committing_sessionmaker
    run = await new_run(maker, cipher)
    acts = activities(maker, cipher)
    call = step_call(run, "emit_event", {"name": "client.chased"})

    error = await failure(environment(), acts.create_task, call)

    assert_invalid(error, "The create_task activity was called for a emit_event step")


# send_email ----------------------------------------------------------------------------------


async def test_send_email_sends_one_message_per_recipient_once(
    committing_sessionmaker: Maker, cipher: Cipher, mailbox: Mailbox
) -> None:
    maker = committing_sessionmaker
    run = await new_run(maker, cipher)
    provider = SmtpEmailProvider(host="127.0.0.1", port=mailbox.port, sender=SENDER)
    acts = activities(maker, cipher, provider)
    call = step_call(
        run,
        "send_email",
        {
            "to": ["olive@example.com", "{{ trigger.cc }}"],
            "subject": "Hello {{ trigger.name }}",
            "body": "Your documents are due, {{ trigger.name }}.",
        },
        step_id="greet",
        trigger={"name": "Olive", "cc": ["Ann@Example.com", "bob@example.com"]},
    )

    outcome = await environment().run(acts.send_email, call)

    ids = [f"{run.run_id}.greet.1.{index}" for index in range(3)]
    assert outcome.output == {
        "sent": ["olive@example.com", "Ann@example.com", "bob@example.com"],
        "message_ids": ids,
    }
    assert mailbox.recipients == [["olive@example.com"], ["Ann@example.com"], ["bob@example.com"]]
    assert [m["Message-ID"] for m in mailbox.messages] == [f"<{i}@firmflow.test>" for i in ids]
    assert {m["Subject"] for m in mailbox.messages} == {"Hello Olive"}
    assert mailbox.body(0).strip() == "Your documents are due, Olive."

    again = await environment(attempt=2).run(acts.send_email, call)
    assert again == outcome
    assert len(mailbox.messages) == 3
    assert (await step_rows(maker, run))["greet#1"].output == outcome.output


async def test_send_email_refuses_bad_addresses_and_headers(
    committing_sessionmaker: Maker, cipher: Cipher, mailbox: Mailbox
) -> None:
    maker = committing_sessionmaker
    run = await new_run(maker, cipher)
    provider = SmtpEmailProvider(host="127.0.0.1", port=mailbox.port, sender=SENDER)
    acts = activities(maker, cipher, provider)

    def call(to: list[Any], subject: str = "Hi") -> StepCall:
        return step_call(run, "send_email", {"to": to, "subject": subject, "body": "Hello"})

    bad = await failure(environment(), acts.send_email, call(["ok@example.com", "not-an-address"]))
    assert_invalid(bad, "to/1: 'not-an-address' is not a valid email address")
    injected = await failure(
        environment(), acts.send_email, call(["ok@example.com"], "Hi\nBcc: eve@example.com")
    )
    assert_invalid(injected, "subject: must be a single line")
    missing = await failure(environment(), acts.send_email, call(["{{ trigger.nobody }}"]))
    assert_invalid(missing, "nobody")
    assert mailbox.messages == []
    assert await step_rows(maker, run) == {}


async def test_send_email_to_an_unreachable_server_is_retried(
    committing_sessionmaker: Maker, cipher: Cipher
) -> None:
    maker = committing_sessionmaker
    run = await new_run(maker, cipher)
    provider = SmtpEmailProvider(host="127.0.0.1", port=free_port(), sender=SENDER, timeout=5)
    acts = activities(maker, cipher, provider)

    error = await failure(
        environment(),
        acts.send_email,
        step_call(run, "send_email", {"to": ["olive@example.com"], "subject": "Hi", "body": "."}),
    )

    assert_failed(error, "The mail server could not take the message to olive@example.com")
    assert await step_rows(maker, run) == {}


class RefusingMailbox(Mailbox):
    """Refuses recipients at RCPT the way real servers do: "later@" is greylisted (450),
    "gone@" does not exist (550)."""

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address.startswith("later@"):
            return "450 4.2.0 Greylisted, try again later"
        if address.startswith("gone@"):
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def refusing_mailbox() -> Iterator[RefusingMailbox]:
    box = RefusingMailbox()
    box.port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    yield box
    controller.stop()


async def test_send_email_refused_recipients_retry_only_when_temporary(
    committing_sessionmaker: Maker, cipher: Cipher, refusing_mailbox: RefusingMailbox
) -> None:
    maker = committing_sessionmaker
    run = await new_run(maker, cipher)
    provider = SmtpEmailProvider(host="127.0.0.1", port=refusing_mailbox.port, sender=SENDER)
    acts = activities(maker, cipher, provider)

    def call(to: str) -> StepCall:
        return step_call(run, "send_email", {"to": [to], "subject": "Hi", "body": "."})

    later = await failure(environment(), acts.send_email, call("later@example.com"))
    assert_failed(later, "The mail server refused the message to later@example.com (SMTP 450)")
    gone = await failure(environment(), acts.send_email, call("gone@example.com"))
    assert_invalid(gone, "The mail server refused the message to gone@example.com (SMTP 550)")
    assert refusing_mailbox.messages == []
    assert await step_rows(maker, run) == {}


class BrokenProvider:
    """An email provider that fails in a way nobody planned for, quoting what it sent."""

    async def send(self, message: OutgoingEmail) -> None:
        raise RuntimeError(f"provider broke on {message.text!r}")


async def test_an_unexpected_error_is_retried_with_a_generic_message_and_a_redacted_log(
    committing_sessionmaker: Maker, cipher: Cipher, caplog: pytest.LogCaptureFixture
) -> None:
    maker = committing_sessionmaker
    run = await new_run(maker, cipher, credentials={"portal_pin": SECRET})
    acts = activities(maker, cipher, BrokenProvider())
    call = step_call(
        run,
        "send_email",
        {"to": ["olive@example.com"], "subject": "PIN", "body": "{{ secrets.portal_pin }}"},
    )

    with caplog.at_level(logging.ERROR, logger="firmflow.automations"):
        error = await failure(environment(), acts.send_email, call)

    assert_failed(error, "The step failed unexpectedly; it will be retried")
    assert error.details[0]["input"] is None
    assert f"automation run {run.run_id} step act (visit 1, attempt 1)" in caplog.text
    assert "provider broke on '[redacted]'" in caplog.text
    assert SECRET not in caplog.text


# create_task ------------------------------------------------------------------------------


async def firm_tasks(maker: Maker, run: Run) -> list[Task]:
    async with tenant_session(run.firm_id, maker) as session:
        return list((await session.scalars(select(Task).where(Task.firm_id == run.firm_id))).all())


async def test_create_task_creates_one_task_with_its_record(
    committing_sessionmaker: Maker, cipher: Cipher
) -> None:
    maker = committing_sessionmaker
    run = await new_run(maker, cipher)
    acts = activities(maker, cipher)
    call = step_call(
        run,
        "create_task",
        {
            "title": "Call {{ trigger.name }}",
            "assignee_id": "{{ trigger.owner }}",
            "due_date": "2027-01-31",
        },
        step_id="todo",
        trigger={"name": "Olive", "owner": str(run.actor.user.id)},
        pending=[control_record()],
    )

    outcome = await environment().run(acts.create_task, call)

    [task] = await firm_tasks(maker, run)
    assert task.created_by is None
    assert outcome.output == {
        "id": str(task.id),
        "title": "Call Olive",
        "description": None,
        "status": "open",
        "assignee_id": str(run.actor.user.id),
        "client_id": None,
        "due_date": "2027-01-31",
        "completed_at": None,
        "completed_by": None,
    }
    assert set(await step_rows(maker, run)) == {"todo#1", "remember#1"}

    again = await environment(attempt=2).run(acts.create_task, call)
    assert again == outcome
    assert len(await firm_tasks(maker, run)) == 1


async def test_concurrent_attempts_of_one_step_create_one_task(
    committing_sessionmaker: Maker, cipher: Cipher
) -> None:
    maker = committing_sessionmaker
    run = await new_run(maker, cipher)
    acts = activities(maker, cipher)
    call = step_call(run, "create_task", {"title": "Once"}, step_id="todo")

    outcomes: tuple[StepOutcome, StepOutcome] = await asyncio.gather(
        environment(attempt=1).run(acts.create_task, call),
        environment(attempt=2).run(acts.create_task, call),
    )

    assert outcomes[0] == outcomes[1]
    [task] = await firm_tasks(maker, run)
    assert isinstance(outcomes[0].output, dict)
    assert outcomes[0].output["id"] == str(task.id)


async def test_create_task_rejections_roll_back_the_pending_records(
    committing_sessionmaker: Maker, cipher: Cipher
) -> None:
    maker = committing_sessionmaker
    run = await new_run(maker, cipher)
    acts = activities(maker, cipher)

    def call(params: dict[str, Any]) -> StepCall:
        return step_call(run, "create_task", params, pending=[control_record()])

    blank = await failure(environment(), acts.create_task, call({"title": "  "}))
    assert_invalid(blank, "title: Enter a value; this may not be empty.")
    assert blank.details[0]["input"] == {"title": "  "}
    stranger = await failure(
        environment(), acts.create_task, call({"title": "Call", "assignee_id": str(uuid.uuid4())})
    )
    assert_invalid(stranger, "No user with this id in your firm")
    bad_date = await failure(
        environment(), acts.create_task, call({"title": "Call", "due_date": "next week"})
    )
    assert_invalid(bad_date, "due_date:")

    assert await firm_tasks(maker, run) == []
    assert await step_rows(maker, run) == {}


# update_client ------------------------------------------------------------------------------


async def new_client(maker: Maker, run: Run, name: str = "Birch & Co") -> uuid.UUID:
    async with tenant_session(run.firm_id, maker) as session:
        client = await clients.create_client(
            session,
            Principal.system(run.firm_id),
            fields=clients.validate_client_fields({"name": name}),
        )
        return client.id


async def test_update_client_changes_the_client_once(
    committing_sessionmaker: Maker, cipher: Cipher
) -> None:
    maker = committing_sessionmaker
    run = await new_run(maker, cipher)
    client_id = await new_client(maker, run)
    acts = activities(maker, cipher)
    call = step_call(
        run,
        "update_client",
        {
            "client_id": "{{ trigger.client }}",
            "fields": {"status": "active", "tags": ["{{ trigger.tag }}"]},
        },
        step_id="activate",
        trigger={"client": str(client_id), "tag": "onboarded"},
    )

    outcome = await environment().run(acts.update_client, call)

    assert isinstance(outcome.output, dict)
    assert outcome.output["id"] == str(client_id)
    assert (outcome.output["status"], outcome.output["tags"]) == ("active", ["onboarded"])
    again = await environment(attempt=2).run(acts.update_client, call)
    assert again == outcome
    async with tenant_session(run.firm_id, maker) as session:
        client = await session.get_one(Client, client_id)
        assert (client.status, client.tags) == ("active", ["onboarded"])


async def test_update_client_rejections(committing_sessionmaker: Maker, cipher: Cipher) -> None:
    maker = committing_sessionmaker
    run = await new_run(maker, cipher)
    client_id = await new_client(maker, run)
    other = await new_run(maker, cipher)
    their_client = await new_client(maker, other, "Elsewhere Ltd")
    acts = activities(maker, cipher)

    def call(target: object, fields: dict[str, Any]) -> StepCall:
        return step_call(run, "update_client", {"client_id": target, "fields": fields})

    cases = [
        (call(str(uuid.uuid4()), {"status": "active"}), "No client with this id in your firm"),
        (call(str(their_client), {"status": "active"}), "No client with this id in your firm"),
        (call("not-an-id", {"status": "active"}), "client_id: is not a valid client id"),
        (call(str(client_id), {"email": "nope"}), "fields/email: Enter a valid email address"),
        (
            call(str(client_id), {"colour": "red"}),
            "fields/colour: This field is not accepted here; remove it.",
        ),
    ]
    for step, message in cases:
        assert_invalid(await failure(environment(), acts.update_client, step), message)

    async with tenant_session(run.firm_id, maker) as session:
        assert (await session.get_one(Client, client_id)).status == "prospect"
    async with tenant_session(other.firm_id, maker) as session:
        assert (await session.get_one(Client, their_client)).status == "prospect"


# emit_event ---------------------------------------------------------------------------------


async def test_emit_event_enqueues_one_outbox_message(
    committing_sessionmaker: Maker, cipher: Cipher
) -> None:
    maker = committing_sessionmaker
    run = await new_run(maker, cipher)
    acts = activities(maker, cipher)
    call = step_call(
        run,
        "emit_event",
        {"name": "custom.chased", "payload": {"who": "{{ trigger.name }}", "event": "x"}},
        step_id="announce",
    )

    outcome = await environment().run(acts.emit_event, call)
    again = await environment(attempt=2).run(acts.emit_event, call)

    assert outcome == again
    assert outcome.output == {
        "event": "custom.chased",
        "key": None,
        "payload": {"who": "Olive", "event": "x"},
    }
    async with tenant_session(run.firm_id, maker) as session:
        messages = (
            await session.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.firm_id == run.firm_id, OutboxMessage.kind == "event"
                )
            )
        ).all()
    [message] = [m for m in messages if m.dedupe_key.startswith("automation:")]
    assert message.dedupe_key == f"automation:{run.run_id}:announce:1"
    assert message.payload == {
        "event": "custom.chased",
        "key": None,
        "payload": {"who": "Olive", "event": "x"},
        "source": {"run_id": str(run.run_id), "step_id": "announce", "visit": 1, "depth": 0},
    }

    bad = await failure(
        environment(),
        acts.emit_event,
        step_call(run, "emit_event", {"name": "NotDotted"}, step_id="bad"),
    )
    assert_invalid(
        bad,
        "name: Name the event in lowercase words joined by dots, such as custom.contract_signed.",
    )


# finish_run ---------------------------------------------------------------------------------


async def run_row(maker: Maker, run: Run) -> AutomationRun:
    async with tenant_session(run.firm_id, maker) as session:
        return await session.get_one(AutomationRun, run.run_id)


async def test_finish_run_writes_records_and_status_once(
    committing_sessionmaker: Maker, cipher: Cipher, server: LocalServer
) -> None:
    maker = committing_sessionmaker
    run = await new_run(maker, cipher, allowlist=["127.0.0.1"])
    acts = activities(maker, cipher)
    now = datetime.now(UTC)
    failed = StepRecord(
        position=next(POSITIONS),
        step_id="call",
        step_type="http_request",
        status="failed",
        attempt=3,
        input={"url": "https://crm.example/"},
        error="crm.example answered HTTP 503; expected 2xx",
        started_at=now,
        finished_at=now,
    )
    error = {"step": "call", "message": "crm.example answered HTTP 503; expected 2xx"}
    finish = FinishRun(
        run_id=run.run_id,
        firm_id=run.firm_id,
        status="failed",
        error=error,
        pending=[control_record(), failed],
    )

    await environment().run(acts.finish_run, finish)

    first = await run_row(maker, run)
    assert (first.status, first.error) == (RunStatus.failed, error)
    assert first.finished_at is not None
    rows = await step_rows(maker, run)
    assert set(rows) == {"remember#1", "call#1"}
    assert (rows["call#1"].status, rows["call#1"].attempt) == ("failed", 3)
    assert rows["call#1"].error == failed.error

    repeat = finish.model_copy(update={"status": "succeeded", "error": None})
    await environment(attempt=2).run(acts.finish_run, repeat)
    second = await run_row(maker, run)
    assert (second.status, second.error, second.finished_at) == (
        RunStatus.failed,
        error,
        first.finished_at,
    )
    assert set(await step_rows(maker, run)) == {"remember#1", "call#1"}

    # A finished run takes no more steps, even from a straggling attempt.
    late = await failure(
        environment(),
        acts.http_request,
        step_call(run, "http_request", {"url": server.url("/echo")}, step_id="late"),
    )
    assert_invalid(late, "The run is failed; it runs no more steps")
    assert server.seen == []


async def test_finish_run_of_another_firm_changes_nothing(
    committing_sessionmaker: Maker, cipher: Cipher
) -> None:
    maker = committing_sessionmaker
    theirs = await new_run(maker, cipher)
    mine = await new_run(maker, cipher)
    acts = activities(maker, cipher)

    error = await failure(
        environment(),
        acts.finish_run,
        FinishRun(
            run_id=theirs.run_id,
            firm_id=mine.firm_id,
            status="succeeded",
            pending=[control_record()],
        ),
    )

    assert_invalid(error, "No automation run with this id in this firm")
    assert (await run_row(maker, theirs)).status == RunStatus.running
    assert await step_rows(maker, theirs) == {}
    async with tenant_session(mine.firm_id, maker) as session:
        count = await session.scalar(select(func.count()).select_from(AutomationRunStep))
    assert count == 0
