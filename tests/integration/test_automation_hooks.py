"""Webhook triggers: the inbound URL's management (token and secret shown once, rotation,
deletion, audit, other firms see nothing) and the Standard Webhooks verification."""

import base64
import hashlib
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.config import Settings
from core.crypto import Cipher
from core.db import scope_to_firm
from core.errors import NotFound
from core.principal import Principal
from models import AuditEvent, AutomationHook, AutomationStatus, Role
from services.automations import automations, hooks
from services.automations.hooks import (
    InvalidPayload,
    SignatureRefused,
    UnsupportedMediaType,
    parse_payload,
    sign,
    verify,
)
from tests.factories import Actor, add_user, make_firm
from tests.problems import assert_problem

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
        f"/v1/automations/{automation_id}/hook", json=body or None, headers=actor.headers
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


async def stored(db: AsyncSession, actor: Actor, automation_id: uuid.UUID) -> AutomationHook | None:
    await scope_to_firm(db, actor.firm.id)
    hook: AutomationHook | None = await db.scalar(
        select(AutomationHook)
        .where(AutomationHook.automation_id == automation_id)
        .execution_options(populate_existing=True)
    )
    return hook


async def audit_actions(db: AsyncSession, actor: Actor, automation_id: uuid.UUID) -> list[Any]:
    await scope_to_firm(db, actor.firm.id)
    events = await db.scalars(
        select(AuditEvent)
        .where(AuditEvent.record_id == automation_id, AuditEvent.action.like("automation.hook_%"))
        .order_by(AuditEvent.created_at, AuditEvent.id)
    )
    return list(events)


@pytest.fixture
async def owner(db: AsyncSession) -> Actor:
    return await make_firm(db, "Hooks")


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

    read = await client.get(f"/v1/automations/{automation_id}/hook", headers=owner.headers)
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

    events = await audit_actions(db, owner, automation_id)
    assert [event.action for event in events] == ["automation.hook_created"]
    assert events[0].summary == {"after": {"prefix": issued.body["token_prefix"], "signing": True}}
    assert issued.token not in caplog.text and issued.secret not in caplog.text


async def test_unsigned_hook_has_no_secret(
    client: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    automation_id = await make_automation(db, owner)

    issued = await issue(client, owner, automation_id, signing=False)

    assert issued.secret is None
    row = await stored(db, owner, automation_id)
    assert row is not None and row.signing_secret_encrypted is None
    read = await client.get(f"/v1/automations/{automation_id}/hook", headers=owner.headers)
    assert read.json()["signing"] is False


async def test_rotation_replaces_token_and_secret(
    client: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    automation_id = await make_automation(db, owner)
    first = await issue(client, owner, automation_id)

    second = await issue(client, owner, automation_id)

    assert second.token != first.token and second.secret != first.secret
    with pytest.raises(NotFound):
        await hooks.find_hook(db, first.token)
    assert (await hooks.find_hook(db, second.token)).automation_id == automation_id
    row = await stored(db, owner, automation_id)
    assert row is not None and row.rotated_at is not None
    read = await client.get(f"/v1/automations/{automation_id}/hook", headers=owner.headers)
    assert read.json()["rotated_at"] is not None
    events = await audit_actions(db, owner, automation_id)
    assert [event.action for event in events] == [
        "automation.hook_created",
        "automation.hook_rotated",
    ]
    assert events[1].summary["before"]["prefix"] == first.body["token_prefix"]
    assert events[1].summary["after"]["prefix"] == second.body["token_prefix"]


async def test_delete_removes_the_hook(client: AsyncClient, db: AsyncSession, owner: Actor) -> None:
    automation_id = await make_automation(db, owner)
    issued = await issue(client, owner, automation_id)
    path = f"/v1/automations/{automation_id}/hook"

    response = await client.delete(path, headers=owner.headers)

    assert response.status_code == 204, response.text
    assert await stored(db, owner, automation_id) is None
    assert_problem(await client.get(path, headers=owner.headers), 404)
    assert_problem(await client.delete(path, headers=owner.headers), 404)
    with pytest.raises(NotFound):
        await hooks.find_hook(db, issued.token)
    events = await audit_actions(db, owner, automation_id)
    assert [event.action for event in events] == [
        "automation.hook_created",
        "automation.hook_deleted",
    ]


async def test_missing_hook_and_unknown_automation_are_404(
    client: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    automation_id = await make_automation(db, owner)
    for target in (automation_id, uuid.uuid4()):
        response = await client.get(f"/v1/automations/{target}/hook", headers=owner.headers)
        assert_problem(response, 404)
    response = await client.post(f"/v1/automations/{uuid.uuid4()}/hook", headers=owner.headers)
    assert_problem(response, 404)


async def test_archived_automation_gets_no_hook(
    client: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    automation_id = await make_automation(db, owner, status=AutomationStatus.archived)
    response = await client.post(f"/v1/automations/{automation_id}/hook", headers=owner.headers)
    assert_problem(response, 409)


async def test_unknown_option_is_422(client: AsyncClient, db: AsyncSession, owner: Actor) -> None:
    automation_id = await make_automation(db, owner)
    response = await client.post(
        f"/v1/automations/{automation_id}/hook", json={"sign": True}, headers=owner.headers
    )
    assert_problem(response, 422)


async def test_staff_may_not_manage_hooks(
    client: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    automation_id = await make_automation(db, owner)
    staff = await add_user(db, owner, Role.staff)
    response = await client.post(f"/v1/automations/{automation_id}/hook", headers=staff.headers)
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
    path = f"/v1/automations/{automation_id}/hook"

    for method in ("GET", "POST", "DELETE"):
        response = await client.request(method, path, headers=other.headers)
        body = assert_problem(response, 404)
        assert issued.token not in response.text and issued.body["token_prefix"] not in str(body)

    after = await stored(db, owner, automation_id)
    assert after is not None
    assert (after.token_hash, after.signing_secret_encrypted, after.rotated_at) == snapshot


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
        verify(hooks.new_signing_secret(), spec_headers(), SPEC_BODY, now=AT_SPEC_TIME)


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (b"", None, {}),
        (b"  \n", "application/json", {}),
        (b'{"a": [1, 2]}', "application/json; charset=utf-8", {"a": [1, 2]}),
        (b"[1]", "application/cloudevents+json", [1]),
        (b'"text"', None, "text"),
        (b"42", "application/json", 42),
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
        (b'{"a": "\\u0000"}', "application/json", InvalidPayload),
        (b'{"a": "\\ud800"}', "application/json", InvalidPayload),
        (b"[" * 65 + b"]" * 65, "application/json", InvalidPayload),
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
