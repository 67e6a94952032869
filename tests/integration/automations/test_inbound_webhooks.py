"""Inbound webhooks: the URL's management (token and secret shown once, rotation,
deletion, audit, other firms see nothing), the Standard Webhooks verification, and
deliveries over HTTP: good, forged, stale, replayed, oversized and malformed."""

import asyncio
import base64
import hashlib
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import build_activities
from core.config import Settings
from core.crypto import Cipher
from core.db import scope_to_firm, tenant_session
from core.errors import NotFound, Unprocessable, UnsupportedMediaType
from core.principal import Principal
from core.roles import Role
from core.temporal import TASK_QUEUE, fixed_client
from models import (
    AutomationRun,
    AutomationRunStep,
    AutomationStatus,
    InboundWebhook,
    OutboxMessage,
    RunStatus,
    RunTrigger,
)
from services.automations import automations, inbound_webhooks
from services.automations.inbound_webhooks import (
    InvalidPayload,
    SignatureRefused,
    parse_payload,
    sign,
    verify,
)
from tests.audit import audit_events
from tests.factories import Actor, add_user, make_firm
from tests.fixtures.temporal import payload_text
from tests.problems import assert_problem
from workflows.automation.run.contracts import WORKFLOW_NAME, workflow_id
from workflows.automation.run.workflow import AutomationRunWorkflow

DEFINITION = {
    "schema_version": 1,
    "trigger": {"type": "webhook"},
    "start": "done",
    "steps": {"done": {"type": "stop"}},
}


@dataclass(frozen=True)
class Issued:
    automation_id: uuid.UUID
    url: str
    token: str
    secret: str | None
    body: dict[str, Any]


async def make_automation(
    db: AsyncSession, actor: Actor, *, status: AutomationStatus = AutomationStatus.active
) -> uuid.UUID:
    principal = Principal.system(actor.firm.id)
    await scope_to_firm(db, actor.firm.id)
    automation = await automations.create_automation(
        db, principal, fields=automations.AutomationFields(name="Intake"), draft=DEFINITION
    )
    await automations.publish(db, principal, automation.id)
    if status != AutomationStatus.draft:
        await automations.set_status(db, principal, automation.id, status)
    await db.commit()
    return automation.id


async def issue(http: AsyncClient, actor: Actor, automation_id: uuid.UUID, **body: Any) -> Issued:
    response = await http.post(
        f"/v1/automations/{automation_id}/inbound-webhook", json=body or None, headers=actor.headers
    )
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return Issued(
        automation_id=automation_id,
        url=answer["url"],
        token=answer["url"].rsplit("/", 1)[1],
        secret=answer["signing_secret"],
        body=answer,
    )


async def stored(db: AsyncSession, actor: Actor, automation_id: uuid.UUID) -> InboundWebhook | None:
    await scope_to_firm(db, actor.firm.id)
    hook: InboundWebhook | None = await db.scalar(
        select(InboundWebhook)
        .where(InboundWebhook.automation_id == automation_id)
        .execution_options(populate_existing=True)
    )
    return hook


def server_logs(caplog: pytest.LogCaptureFixture) -> str:
    """Every field of every log record the server wrote (the access line's path is an
    extra); httpx's lines are the test client's, which knows the URL it calls."""
    return "\n".join(str(vars(record)) for record in caplog.records if record.name != "httpx")


# --- management -------------------------------------------------------------------------


async def test_create_shows_the_url_and_secret_once_and_stores_them_protected(
    client: AsyncClient,
    db: AsyncSession,
    owner: Actor,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    automation_id = await make_automation(db, owner)

    issued = await issue(client, owner, automation_id)

    assert set(issued.body) == {"url", "token_prefix", "signing_secret"}
    assert issued.url.startswith(f"{settings.public_url}/v1/hooks/ffh_")
    assert issued.token.startswith(issued.body["token_prefix"])
    assert issued.secret is not None and issued.secret.startswith("whsec_")
    assert 24 <= len(base64.b64decode(issued.secret.removeprefix("whsec_"))) <= 32

    row = await stored(db, owner, automation_id)
    assert row is not None
    assert row.token_hash == hashlib.sha256(issued.token.encode()).hexdigest()
    assert row.signing_secret_encrypted is not None
    assert issued.secret not in row.signing_secret_encrypted
    assert Cipher.from_settings(settings).decrypt(row.signing_secret_encrypted) == issued.secret
    assert row.rotated_at is None

    read = await client.get(
        f"/v1/automations/{automation_id}/inbound-webhook", headers=owner.headers
    )
    assert read.status_code == 200, read.text
    assert set(read.json()) == {
        "automation_id",
        "token_prefix",
        "signing",
        "created_at",
        "rotated_at",
    }
    assert read.json()["signing"] is True
    assert read.json()["token_prefix"] == issued.body["token_prefix"]
    assert issued.token not in read.text and issued.secret not in read.text

    events = await audit_events(
        db, owner.firm.id, record_id=automation_id, action_prefix="automation.hook_"
    )
    assert [event.action for event in events] == ["automation.hook_created"]
    assert events[0].summary == {"after": {"prefix": issued.body["token_prefix"], "signing": True}}
    assert issued.token not in server_logs(caplog) and issued.secret not in server_logs(caplog)


async def test_unsigned_hook_has_no_secret(
    client: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    automation_id = await make_automation(db, owner)

    issued = await issue(client, owner, automation_id, signing=False)

    assert issued.secret is None
    row = await stored(db, owner, automation_id)
    assert row is not None and row.signing_secret_encrypted is None
    read = await client.get(
        f"/v1/automations/{automation_id}/inbound-webhook", headers=owner.headers
    )
    assert read.json()["signing"] is False


async def test_rotation_replaces_token_and_secret(
    client: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    automation_id = await make_automation(db, owner)
    first = await issue(client, owner, automation_id)

    second = await issue(client, owner, automation_id)

    assert second.token != first.token and second.secret != first.secret
    with pytest.raises(NotFound):
        await inbound_webhooks.find_inbound_webhook(db, first.token)
    found, automation = await inbound_webhooks.find_inbound_webhook(db, second.token)
    assert found.automation_id == automation.id == automation_id
    row = await stored(db, owner, automation_id)
    assert row is not None and row.rotated_at is not None
    read = await client.get(
        f"/v1/automations/{automation_id}/inbound-webhook", headers=owner.headers
    )
    assert read.json()["rotated_at"] is not None
    events = await audit_events(
        db, owner.firm.id, record_id=automation_id, action_prefix="automation.hook_"
    )
    assert [event.action for event in events] == [
        "automation.hook_created",
        "automation.hook_rotated",
    ]
    assert events[1].summary["before"]["prefix"] == first.body["token_prefix"]
    assert events[1].summary["after"]["prefix"] == second.body["token_prefix"]


async def test_delete_removes_the_hook(client: AsyncClient, db: AsyncSession, owner: Actor) -> None:
    automation_id = await make_automation(db, owner)
    issued = await issue(client, owner, automation_id)
    path = f"/v1/automations/{automation_id}/inbound-webhook"

    response = await client.delete(path, headers=owner.headers)

    assert response.status_code == 204, response.text
    assert await stored(db, owner, automation_id) is None
    assert_problem(await client.get(path, headers=owner.headers), 404)
    assert_problem(await client.delete(path, headers=owner.headers), 404)
    with pytest.raises(NotFound):
        await inbound_webhooks.find_inbound_webhook(db, issued.token)
    events = await audit_events(
        db, owner.firm.id, record_id=automation_id, action_prefix="automation.hook_"
    )
    assert [event.action for event in events] == [
        "automation.hook_created",
        "automation.hook_deleted",
    ]


async def test_missing_hook_and_unknown_automation_are_404(
    client: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    automation_id = await make_automation(db, owner)
    for target in (automation_id, uuid.uuid4()):
        response = await client.get(
            f"/v1/automations/{target}/inbound-webhook", headers=owner.headers
        )
        assert_problem(response, 404)
    response = await client.post(
        f"/v1/automations/{uuid.uuid4()}/inbound-webhook", headers=owner.headers
    )
    assert_problem(response, 404)


async def test_archived_automation_gets_no_hook(
    client: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    automation_id = await make_automation(db, owner, status=AutomationStatus.archived)
    response = await client.post(
        f"/v1/automations/{automation_id}/inbound-webhook", headers=owner.headers
    )
    assert_problem(response, 409)


async def test_unknown_option_is_422(client: AsyncClient, db: AsyncSession, owner: Actor) -> None:
    automation_id = await make_automation(db, owner)
    response = await client.post(
        f"/v1/automations/{automation_id}/inbound-webhook",
        json={"sign": True},
        headers=owner.headers,
    )
    assert_problem(response, 422)


async def test_staff_may_not_manage_hooks(
    client: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    automation_id = await make_automation(db, owner)
    staff = await add_user(db, owner, Role.staff)
    response = await client.post(
        f"/v1/automations/{automation_id}/inbound-webhook", headers=staff.headers
    )
    assert_problem(response, 403)


async def test_another_firm_cannot_read_rotate_or_delete_a_hook(
    client: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    automation_id = await make_automation(db, owner)
    issued = await issue(client, owner, automation_id)
    before = await stored(db, owner, automation_id)
    assert before is not None
    snapshot = (before.token_hash, before.signing_secret_encrypted, before.rotated_at)
    other = await make_firm(db, "Other")
    path = f"/v1/automations/{automation_id}/inbound-webhook"

    for method in ("GET", "POST", "DELETE"):
        response = await client.request(method, path, headers=other.headers)
        body = assert_problem(response, 404)
        assert issued.token not in response.text and issued.body["token_prefix"] not in str(body)

    after = await stored(db, owner, automation_id)
    assert after is not None
    assert (after.token_hash, after.signing_secret_encrypted, after.rotated_at) == snapshot


async def test_the_first_paths_still_answer_the_same(
    client: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    """``/automations/{id}/hook`` and ``/hooks/{token}`` serve the same routes as the
    inbound-webhook paths, and the document marks them deprecated."""
    automation_id = await make_automation(db, owner)
    issued = await issue(client, owner, automation_id, signing=False)

    new = await client.get(
        f"/v1/automations/{automation_id}/inbound-webhook", headers=owner.headers
    )
    old = await client.get(f"/v1/automations/{automation_id}/hook", headers=owner.headers)
    delivered = [
        await client.post(path, json={})
        for path in (f"/v1/inbound-webhooks/{issued.token}", f"/v1/hooks/{issued.token}")
    ]
    document = (await client.get("/openapi.json")).json()["paths"]

    assert new.status_code == old.status_code == 200, old.text
    assert old.json() == new.json()
    assert [response.status_code for response in delivered] == [202, 202]
    assert len(await runs_of(db, owner, automation_id)) == 2
    assert document["/v1/hooks/{token}"]["post"]["deprecated"] is True
    assert document["/v1/automations/{automation_id}/hook"]["get"]["deprecated"] is True
    assert "deprecated" not in document["/v1/inbound-webhooks/{token}"]["post"]


# --- Standard Webhooks verification ------------------------------------------------------

# The example of the Standard Webhooks specification's reference libraries.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def spec_headers(signature: str = SPEC_SIGNATURE, **override: str) -> dict[str, str]:
    headers = {
        "webhook-id": SPEC_ID,
        "webhook-timestamp": str(SPEC_TIMESTAMP),
        "webhook-signature": signature,
    }
    headers.update(override)
    return headers


AT_SPEC_TIME = datetime.fromtimestamp(SPEC_TIMESTAMP, UTC)


def test_signature_matches_the_specification_example() -> None:
    assert sign(SPEC_SECRET, SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY) == SPEC_SIGNATURE
    assert verify(SPEC_SECRET, spec_headers(), SPEC_BODY, now=AT_SPEC_TIME) == SPEC_ID


def test_any_one_valid_signature_of_several_is_enough() -> None:
    forged = "v1," + base64.b64encode(b"x" * 32).decode()
    offered = f"v1a,abc {forged} {SPEC_SIGNATURE}"
    assert verify(SPEC_SECRET, spec_headers(offered), SPEC_BODY, now=AT_SPEC_TIME) == SPEC_ID


@pytest.mark.parametrize(
    ("headers", "body", "seconds_later"),
    [
        (spec_headers("v1," + base64.b64encode(b"x" * 32).decode()), SPEC_BODY, 0),
        (spec_headers(), b'{"test": 2432232315}', 0),
        (spec_headers(SPEC_SIGNATURE.removeprefix("v1,")), SPEC_BODY, 0),
        (spec_headers(**{"webhook-id": "msg_other"}), SPEC_BODY, 0),
        (spec_headers(**{"webhook-timestamp": str(SPEC_TIMESTAMP + 1)}), SPEC_BODY, 0),
        (spec_headers(**{"webhook-timestamp": "1614265330.0"}), SPEC_BODY, 0),
        (spec_headers(**{"webhook-id": "msg with space"}), SPEC_BODY, 0),
        (spec_headers(), SPEC_BODY, 301),
        (spec_headers(), SPEC_BODY, -301),
        ({"webhook-id": SPEC_ID, "webhook-timestamp": str(SPEC_TIMESTAMP)}, SPEC_BODY, 0),
        ({}, SPEC_BODY, 0),
    ],
    ids=[
        "forged",
        "changed-body",
        "no-version",
        "other-id",
        "other-timestamp",
        "fractional-timestamp",
        "id-with-space",
        "stale",
        "future",
        "no-signature",
        "no-headers",
    ],
)
def test_refused_deliveries(headers: dict[str, str], body: bytes, seconds_later: int) -> None:
    now = datetime.fromtimestamp(SPEC_TIMESTAMP + seconds_later, UTC)
    with pytest.raises(SignatureRefused) as refused:
        verify(SPEC_SECRET, headers, body, now=now)
    assert refused.value.status == 401


def test_edges_of_the_tolerance_are_accepted() -> None:
    for seconds in (-300, 300):
        now = datetime.fromtimestamp(SPEC_TIMESTAMP + seconds, UTC)
        assert verify(SPEC_SECRET, spec_headers(), SPEC_BODY, now=now) == SPEC_ID


def test_a_wrong_secret_is_refused() -> None:
    with pytest.raises(SignatureRefused):
        verify(inbound_webhooks.new_signing_secret(), spec_headers(), SPEC_BODY, now=AT_SPEC_TIME)


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (b"", None, {}),
        (b"  \n", "application/json", {}),
        (b'{"a": [1, 2]}', "application/json; charset=utf-8", {"a": [1, 2]}),
        (b"[1]", "application/cloudevents+json", [1]),
        (b'"text"', None, "text"),
        (b"42", "application/json", 42),
        (b"[" * 64 + b"1" + b"]" * 64, "application/json", nested(64)),
    ],
)
def test_payloads_accepted(body: bytes, content_type: str | None, expected: Any) -> None:
    assert parse_payload(body, content_type) == expected


@pytest.mark.parametrize(
    ("body", "content_type", "error"),
    [
        (b"a=1", "application/x-www-form-urlencoded", UnsupportedMediaType),
        (b"{}", "text/plain", UnsupportedMediaType),
        (b"{not json", "application/json", InvalidPayload),
        (b"\xff\xfe{}", "application/json", InvalidPayload),
        (b'{"a": NaN}', "application/json", InvalidPayload),
        (b'{"a": "\\u0000"}', "application/json", Unprocessable),
        (b'{"a": "\\ud800"}', "application/json", Unprocessable),
        (b"[" * 65 + b"]" * 65, "application/json", Unprocessable),
        (b"[" * 100_000 + b"]" * 100_000, "application/json", InvalidPayload),
    ],
    ids=[
        "form",
        "text",
        "broken",
        "not-utf8",
        "nan",
        "nul",
        "lone-surrogate",
        "too-deep",
        "recursion-bomb",
    ],
)
def test_payloads_refused(body: bytes, content_type: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_payload(body, content_type)


# --- deliveries over HTTP ------------------------------------------------------------------


def signed(
    secret: str,
    body: bytes,
    *,
    webhook_id: str | None = None,
    timestamp: int | None = None,
) -> dict[str, str]:
    webhook_id = webhook_id or f"msg_{uuid.uuid4().hex}"
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "content-type": "application/json",
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, webhook_id, timestamp, body),
    }


async def runs_of(db: AsyncSession, actor: Actor, automation_id: uuid.UUID) -> list[AutomationRun]:
    await scope_to_firm(db, actor.firm.id)
    rows = await db.scalars(
        select(AutomationRun)
        .where(AutomationRun.automation_id == automation_id)
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def start_messages(db: AsyncSession, actor: Actor) -> dict[str, dict[str, Any]]:
    await scope_to_firm(db, actor.firm.id)
    rows = await db.scalars(select(OutboxMessage).where(OutboxMessage.kind == "start_workflow"))
    return {row.payload["workflow_id"]: row.payload for row in rows}


@pytest.fixture
async def hook(client: AsyncClient, db: AsyncSession, owner: Actor) -> Issued:
    return await issue(client, owner, await make_automation(db, owner))


@pytest.fixture
async def unsigned_hook(client: AsyncClient, db: AsyncSession, owner: Actor) -> Issued:
    return await issue(client, owner, await make_automation(db, owner), signing=False)


def path_of(issued: Issued) -> str:
    return f"/v1/hooks/{issued.token}"


async def test_a_signed_delivery_starts_a_run(
    client: AsyncClient,
    db: AsyncSession,
    owner: Actor,
    hook: Issued,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    assert hook.secret is not None
    body = b'{"client": {"name": "Acme"}, "amount": 1200}'
    headers = signed(hook.secret, body, webhook_id="msg_first")

    response = await client.post(path_of(hook), content=body, headers=headers)

    assert response.status_code == 202, response.text
    assert set(response.json()) == {"run_id"}
    run_id = uuid.UUID(response.json()["run_id"])
    [run] = await runs_of(db, owner, hook.automation_id)
    assert run.id == run_id
    assert run.trigger == RunTrigger.webhook
    assert run.trigger_payload == {"client": {"name": "Acme"}, "amount": 1200}
    assert run.dedupe_key == "webhook:msg_first"
    assert run.created_by is None
    message = (await start_messages(db, owner))[workflow_id(run_id)]
    assert message["workflow"] == WORKFLOW_NAME
    assert message["arg"]["trigger"] == run.trigger_payload
    assert message["arg"]["automation_id"] == str(hook.automation_id)
    assert hook.secret not in response.text and hook.token not in server_logs(caplog)
    assert hook.secret not in server_logs(caplog) and hook.secret not in str(message)


async def test_a_replayed_webhook_id_returns_the_first_run(
    client: AsyncClient, db: AsyncSession, owner: Actor, hook: Issued
) -> None:
    assert hook.secret is not None
    body = b'{"n": 1}'
    headers = signed(hook.secret, body, webhook_id="msg_replayed")
    first = await client.post(path_of(hook), content=body, headers=headers)
    assert first.status_code == 202, first.text

    again = await client.post(path_of(hook), content=body, headers=headers)
    other = b'{"n": 2}'
    resigned = await client.post(
        path_of(hook), content=other, headers=signed(hook.secret, other, webhook_id="msg_replayed")
    )

    assert again.status_code == 202 and resigned.status_code == 202
    assert again.json() == first.json() == resigned.json()
    assert len(await runs_of(db, owner, hook.automation_id)) == 1
    fresh = await client.post(path_of(hook), content=body, headers=signed(hook.secret, body))
    assert fresh.status_code == 202 and fresh.json() != first.json()
    assert len(await runs_of(db, owner, hook.automation_id)) == 2


async def test_several_signatures_with_one_valid_are_accepted(
    client: AsyncClient, hook: Issued
) -> None:
    assert hook.secret is not None
    body = b"{}"
    headers = signed(hook.secret, body)
    old_secret = inbound_webhooks.new_signing_secret()
    stale = sign(old_secret, headers["webhook-id"], int(headers["webhook-timestamp"]), body)
    headers["webhook-signature"] = f"{stale} {headers['webhook-signature']}"

    response = await client.post(path_of(hook), content=body, headers=headers)

    assert response.status_code == 202, response.text


def _forged(secret: str, body: bytes) -> dict[str, str]:
    headers = signed(secret, body)
    headers["webhook-signature"] = "v1," + base64.b64encode(b"f" * 32).decode()
    return headers


def _wrong_secret(secret: str, body: bytes) -> dict[str, str]:
    return signed(inbound_webhooks.new_signing_secret(), body)


def _tampered(secret: str, body: bytes) -> dict[str, str]:
    return signed(secret, body + b" ")


def _missing(name: str) -> Any:
    def headers(secret: str, body: bytes) -> dict[str, str]:
        made = signed(secret, body)
        del made[name]
        return made

    return headers


def _aged(seconds: int) -> Any:
    def headers(secret: str, body: bytes) -> dict[str, str]:
        return signed(secret, body, timestamp=int(time.time()) + seconds)

    return headers


@pytest.mark.parametrize(
    "make_headers",
    [
        _forged,
        _wrong_secret,
        _tampered,
        _missing("webhook-id"),
        _missing("webhook-timestamp"),
        _missing("webhook-signature"),
        _aged(-360),
        _aged(360),
    ],
    ids=[
        "forged",
        "wrong-secret",
        "tampered-body",
        "no-id",
        "no-timestamp",
        "no-signature",
        "stale-6-min",
        "future-6-min",
    ],
)
async def test_unverified_deliveries_are_401_and_start_nothing(
    client: AsyncClient,
    db: AsyncSession,
    owner: Actor,
    hook: Issued,
    make_headers: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    assert hook.secret is not None
    body = b'{"n": 1}'

    response = await client.post(
        path_of(hook), content=body, headers=make_headers(hook.secret, body)
    )

    problem = assert_problem(response, 401)
    assert problem["type"].endswith("/webhook-signature")
    assert "webhook-signature" in problem["detail"]
    assert hook.secret not in response.text and hook.secret not in server_logs(caplog)
    assert await runs_of(db, owner, hook.automation_id) == []
    assert await start_messages(db, owner) == {}


async def test_a_signed_hook_refuses_an_unsigned_delivery(
    client: AsyncClient, db: AsyncSession, owner: Actor, hook: Issued
) -> None:
    response = await client.post(path_of(hook), json={"n": 1})
    assert_problem(response, 401)
    assert await runs_of(db, owner, hook.automation_id) == []


async def test_an_unsigned_hook_accepts_plain_json_and_dedupes_by_webhook_id(
    client: AsyncClient, db: AsyncSession, owner: Actor, unsigned_hook: Issued
) -> None:
    plain = await client.post(path_of(unsigned_hook), json={"n": 1})
    empty = await client.post(path_of(unsigned_hook))
    first = await client.post(path_of(unsigned_hook), json=[1], headers={"webhook-id": "evt_9"})
    again = await client.post(path_of(unsigned_hook), json=[1], headers={"webhook-id": "evt_9"})

    assert [r.status_code for r in (plain, empty, first, again)] == [202] * 4
    assert first.json() == again.json()
    runs = {run.id: run for run in await runs_of(db, owner, unsigned_hook.automation_id)}
    assert len(runs) == 3
    assert runs[uuid.UUID(empty.json()["run_id"])].trigger_payload == {}
    assert runs[uuid.UUID(first.json()["run_id"])].dedupe_key == "webhook:evt_9"
    assert runs[uuid.UUID(plain.json()["run_id"])].dedupe_key is None
    bad_id = await client.post(path_of(unsigned_hook), json={}, headers={"webhook-id": "a b"})
    assert_problem(bad_id, 400)


async def _chunks(size: int) -> AsyncIterator[bytes]:
    chunk = b" " * 8192
    for _ in range(size // len(chunk)):
        yield chunk
    yield b"{}"


async def test_oversized_bodies_are_413(
    client: AsyncClient, db: AsyncSession, owner: Actor, unsigned_hook: Issued, settings: Settings
) -> None:
    limit = settings.webhook_max_bytes
    declared = await client.post(path_of(unsigned_hook), content=b" " * limit + b"{}")
    # Chunked: no Content-Length, so only the bounded read can refuse it.
    streamed = await client.post(path_of(unsigned_hook), content=_chunks(limit + 8192))

    assert "content-length" not in streamed.request.headers
    for response in (declared, streamed):
        assert_problem(response, 413)
    assert await runs_of(db, owner, unsigned_hook.automation_id) == []
    at_limit = await client.post(path_of(unsigned_hook), content=b" " * (limit - 2) + b"{}")
    assert at_limit.status_code == 202, at_limit.text


async def test_non_json_bodies_are_refused(
    client: AsyncClient, db: AsyncSession, owner: Actor, unsigned_hook: Issued
) -> None:
    form = await client.post(path_of(unsigned_hook), data={"a": "1"})
    broken = await client.post(
        path_of(unsigned_hook), content=b"{oops", headers={"content-type": "application/json"}
    )

    assert_problem(form, 415)
    assert_problem(broken, 400)
    assert await runs_of(db, owner, unsigned_hook.automation_id) == []


async def test_a_signed_body_is_verified_before_it_is_parsed(
    client: AsyncClient, db: AsyncSession, owner: Actor, hook: Issued
) -> None:
    response = await client.post(
        path_of(hook), content=b"{oops", headers={"content-type": "application/json"}
    )
    assert_problem(response, 401)


async def test_unknown_rotated_and_deleted_tokens_are_404(
    client: AsyncClient, db: AsyncSession, owner: Actor, unsigned_hook: Issued
) -> None:
    unknown = await client.post("/v1/hooks/ffh_" + "x" * 43, json={})
    rotated = await issue(client, owner, unsigned_hook.automation_id, signing=False)
    old = await client.post(path_of(unsigned_hook), json={})
    works = await client.post(path_of(rotated), json={})
    await client.delete(
        f"/v1/automations/{rotated.automation_id}/inbound-webhook", headers=owner.headers
    )
    deleted = await client.post(path_of(rotated), json={})

    for response in (unknown, old, deleted):
        assert_problem(response, 404)
        # The token is not echoed back in the problem.
        assert response.json()["instance"] == "/v1/hooks/[redacted]"
    assert works.status_code == 202, works.text
    assert len(await runs_of(db, owner, unsigned_hook.automation_id)) == 1


async def test_a_paused_automation_is_409(
    client: AsyncClient, db: AsyncSession, owner: Actor, unsigned_hook: Issued
) -> None:
    await automations.set_status(
        db, Principal.system(owner.firm.id), unsigned_hook.automation_id, AutomationStatus.paused
    )
    await db.commit()

    response = await client.post(path_of(unsigned_hook), json={})

    assert_problem(response, 409)
    assert await runs_of(db, owner, unsigned_hook.automation_id) == []


async def test_a_replay_after_pausing_answers_with_the_first_run(
    client: AsyncClient, db: AsyncSession, owner: Actor, hook: Issued
) -> None:
    assert hook.secret is not None
    body = b'{"n": 1}'
    headers = signed(hook.secret, body, webhook_id="msg_before_pause")
    first = await client.post(path_of(hook), content=body, headers=headers)
    assert first.status_code == 202, first.text
    await automations.set_status(
        db, Principal.system(owner.firm.id), hook.automation_id, AutomationStatus.paused
    )
    await db.commit()

    again = await client.post(path_of(hook), content=body, headers=headers)
    new = await client.post(path_of(hook), content=body, headers=signed(hook.secret, body))

    assert again.status_code == 202 and again.json() == first.json()
    assert_problem(new, 409)
    assert len(await runs_of(db, owner, hook.automation_id)) == 1


async def test_a_delivery_runs_in_its_own_firm_only(
    client: AsyncClient, db: AsyncSession, owner: Actor, unsigned_hook: Issued
) -> None:
    other = await make_firm(db, "Elsewhere")

    response = await client.post(path_of(unsigned_hook), json={})

    assert response.status_code == 202, response.text
    [run] = await runs_of(db, owner, unsigned_hook.automation_id)
    assert run.firm_id == owner.firm.id
    await scope_to_firm(db, other.firm.id)
    assert await db.scalar(select(AutomationRun).where(AutomationRun.id == run.id)) is None


# --- end to end: a delivery runs the automation on a real worker ----------------------------

INVOICE_RECEIVED = {
    "schema_version": 1,
    "trigger": {"type": "webhook"},
    "start": "known",
    "steps": {
        "known": {
            "type": "condition",
            "params": {"expression": "trigger.invoice == 'INV-1042'"},
            "then": "announce",
            "else": "refuse",
        },
        "announce": {
            "type": "emit_event",
            "params": {
                "name": "custom.invoice_received",
                "payload": {"invoice": "{{ trigger.invoice }}"},
            },
            "next": "done",
        },
        "done": {"type": "stop"},
        "refuse": {"type": "stop", "params": {"status": "failed", "message": "unknown invoice"}},
    },
}


async def test_a_signed_delivery_runs_the_automation_on_a_worker(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    settings: Settings,
    committing_sessionmaker: async_sessionmaker[AsyncSession],
    committed_owner: Actor,
) -> None:
    actor = committed_owner
    principal = Principal.system(actor.firm.id)
    async with tenant_session(actor.firm.id, committing_sessionmaker) as session:
        automation = await automations.create_automation(
            session,
            principal,
            fields=automations.AutomationFields(name="Invoice received"),
            draft=INVOICE_RECEIVED,
        )
        await automations.publish(session, principal, automation.id)
        await automations.set_status(session, principal, automation.id, AutomationStatus.active)
    issued = await issue(temporal_api, actor, automation.id)
    assert issued.secret is not None
    body = b'{"invoice": "INV-1042", "amount": 1200}'
    worker = Worker(
        temporal_env.client,
        task_queue=TASK_QUEUE,
        workflows=[AutomationRunWorkflow],
        activities=build_activities(
            settings, committing_sessionmaker, fixed_client(temporal_env.client)
        ),
    )
    async with worker:
        response = await temporal_api.post(
            path_of(issued), content=body, headers=signed(issued.secret, body)
        )
        assert response.status_code == 202, response.text
        run_id = uuid.UUID(response.json()["run_id"])
        handle = temporal_env.client.get_workflow_handle_for(
            AutomationRunWorkflow.run, workflow_id(run_id)
        )
        async with asyncio.timeout(60):
            result = await handle.result()
        history = payload_text(json.loads((await handle.fetch_history()).to_json()))

    assert result.status == "succeeded", result
    assert "INV-1042" in history
    assert issued.secret not in history and issued.token not in history
    async with tenant_session(actor.firm.id, committing_sessionmaker) as session:
        run = await session.get(AutomationRun, run_id)
        steps = await session.scalars(
            select(AutomationRunStep).where(AutomationRunStep.run_id == run_id)
        )
        outputs = {step.step_id: step.output for step in steps}
    assert run is not None and run.status == RunStatus.succeeded
    assert run.trigger == RunTrigger.webhook
    assert outputs["announce"] == {
        "event": "custom.invoice_received",
        "key": None,
        "payload": {"invoice": "INV-1042"},
    }
