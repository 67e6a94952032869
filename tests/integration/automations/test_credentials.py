"""The credentials vault: encrypted at rest, write-only through the API, audited without
values, one firm's names invisible to another firm's runs, key rotation, and the Redactor
the engine applies to everything a step sends, returns or fails with."""

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.fernet import Fernet
from httpx import ASGITransport, AsyncClient, Response
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.config import Settings
from core.crypto import Cipher
from core.db import scope_to_firm
from core.roles import Role
from models import AuditEvent, Credential, InboundWebhook
from services import credentials
from services.automations.automations import AutomationFields, create_automation
from services.automations.inbound_webhooks import issue_inbound_webhook
from services.billing import stripe_account
from services.credentials import REDACTED, CredentialFields, Redactor, UnknownCredentials
from tests.factories import Actor, add_user, make_firm, principal_of
from tests.problems import assert_problem, pointers

SECRET = "sk_live_7f3a9c2e41b8d6"


async def create(
    http: AsyncClient, actor: Actor, name: str = "crm_api_key", value: str = SECRET, **extra: Any
) -> dict[str, Any]:
    response = await http.post(
        "/v1/credentials", json={"name": name, "value": value, **extra}, headers=actor.headers
    )
    assert response.status_code == 201, response.text
    assert value not in response.text
    body: dict[str, Any] = response.json()
    return body


def cipher_of(settings: Settings) -> Cipher:
    return Cipher.from_settings(settings)


async def stored(db: AsyncSession, actor: Actor, name: str) -> Credential:
    await scope_to_firm(db, actor.firm.id)
    row = await db.scalar(
        select(Credential)
        .where(Credential.firm_id == actor.firm.id, Credential.name == name)
        .execution_options(populate_existing=True)
    )
    assert row is not None
    return row


async def test_create_returns_metadata_only_and_stores_ciphertext(
    client: AsyncClient, db: AsyncSession, owner: Actor, settings: Settings
) -> None:
    body = await create(client, owner, description="  CRM key for the sync  ")
    assert set(body) == {
        "id",
        "name",
        "description",
        "created_by",
        "value_updated_at",
        "created_at",
        "updated_at",
    }
    assert body["name"] == "crm_api_key"
    assert body["description"] == "CRM key for the sync"
    assert body["created_by"] == str(owner.user.id)

    row = await stored(db, owner, "crm_api_key")
    assert SECRET not in row.value_encrypted
    assert cipher_of(settings).decrypt(row.value_encrypted) == SECRET


async def test_no_read_ever_returns_the_value(
    client: AsyncClient, owner: Actor, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    created = await create(client, owner)
    responses: list[Response] = [
        await client.get("/v1/credentials", headers=owner.headers),
        await client.get(f"/v1/credentials/{created['id']}", headers=owner.headers),
        await client.put(
            f"/v1/credentials/{created['id']}/value",
            json={"value": SECRET + "_v2"},
            headers=owner.headers,
        ),
        await client.get("/v1/audit-events", headers=owner.headers),
    ]
    for response in responses:
        assert response.status_code == 200, response.text
        assert SECRET not in response.text
    assert [item["name"] for item in responses[0].json()["items"]] == ["crm_api_key"]
    assert SECRET not in caplog.text


async def test_list_is_keyset_paginated(client: AsyncClient, owner: Actor) -> None:
    # created_at is the insert's own time (models.base.clock), so even rows of one
    # transaction list newest first.
    ids = [(await create(client, owner, name=name))["id"] for name in ("a_key", "b_key", "c_key")]
    first = await client.get("/v1/credentials?limit=2", headers=owner.headers)
    cursor = first.json()["next_cursor"]
    assert cursor is not None
    second = await client.get(f"/v1/credentials?limit=2&cursor={cursor}", headers=owner.headers)
    assert second.json()["next_cursor"] is None
    listed = [item["id"] for item in first.json()["items"] + second.json()["items"]]
    assert listed == ids[::-1]


async def test_duplicate_name_in_a_firm_is_409_but_another_firm_may_use_it(
    client: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    await create(client, owner)
    response = await client.post(
        "/v1/credentials", json={"name": "crm_api_key", "value": "other"}, headers=owner.headers
    )
    body = assert_problem(response, 409)
    assert "crm_api_key" in body["detail"]
    assert "other" not in response.text

    other = await make_firm(db, "Other")
    await create(client, other, value="other firm's value")


@pytest.mark.parametrize(
    "name",
    ["", "CRM", "1key", "_key", "crm-key", "crm key", "crm.key", "é_key", "a" * 64, "key\n"],
)
async def test_names_must_be_identifiers(client: AsyncClient, owner: Actor, name: str) -> None:
    response = await client.post(
        "/v1/credentials", json={"name": name, "value": SECRET}, headers=owner.headers
    )
    body = assert_problem(response, 422)
    assert "/name" in pointers(body)
    assert SECRET not in response.text


@pytest.mark.parametrize("name", ["a", "crm_api_key", "k2", "a" * 63])
async def test_identifier_names_are_accepted(client: AsyncClient, owner: Actor, name: str) -> None:
    await create(client, owner, name=name)


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"name": "k"}, "/value"),
        ({"name": "k", "value": ""}, "/value"),
        ({"name": "k", "value": "x" * (credentials.MAX_VALUE_LENGTH + 1)}, "/value"),
        ({"name": "k", "value": 12345}, "/value"),
        ({"name": "k", "value": SECRET, "extra": 1}, "/extra"),
        ({"name": "k", "value": SECRET, "description": "d" * 501}, "/description"),
        ({"value": SECRET}, "/name"),
    ],
)
async def test_invalid_bodies_are_422_and_never_echo_the_value(
    client: AsyncClient, owner: Actor, body: dict[str, Any], pointer: str
) -> None:
    response = await client.post("/v1/credentials", json=body, headers=owner.headers)
    problem = assert_problem(response, 422)
    assert pointer in pointers(problem)
    assert SECRET not in response.text
    assert "x" * 100 not in response.text


async def test_replace_value(
    client: AsyncClient, db: AsyncSession, owner: Actor, settings: Settings
) -> None:
    created = await create(client, owner)
    response = await client.put(
        f"/v1/credentials/{created['id']}/value",
        json={"value": "rotated-value"},
        headers=owner.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["value_updated_at"] >= created["value_updated_at"]
    assert "rotated-value" not in response.text
    resolved = await credentials.resolve_for_run(
        db, owner.firm.id, ["crm_api_key"], cipher=cipher_of(settings)
    )
    assert resolved == {"crm_api_key": "rotated-value"}


@pytest.mark.parametrize("body", [{}, {"value": ""}, {"value": "v", "name": "renamed"}])
async def test_replace_value_rejects_bad_bodies(
    client: AsyncClient, owner: Actor, body: dict[str, Any]
) -> None:
    created = await create(client, owner)
    response = await client.put(
        f"/v1/credentials/{created['id']}/value", json=body, headers=owner.headers
    )
    assert_problem(response, 422)


async def test_delete(
    client: AsyncClient, db: AsyncSession, owner: Actor, settings: Settings
) -> None:
    created = await create(client, owner)
    response = await client.delete(f"/v1/credentials/{created['id']}", headers=owner.headers)
    assert response.status_code == 204
    assert_problem(await client.get(f"/v1/credentials/{created['id']}", headers=owner.headers), 404)
    assert_problem(
        await client.delete(f"/v1/credentials/{created['id']}", headers=owner.headers), 404
    )
    with pytest.raises(UnknownCredentials, match="crm_api_key"):
        await credentials.resolve_for_run(
            db, owner.firm.id, ["crm_api_key"], cipher=cipher_of(settings)
        )
    # The name is free again.
    await create(client, owner)


async def test_unknown_id_is_404(client: AsyncClient, owner: Actor) -> None:
    missing = uuid.uuid4()
    for method, path, body in [
        ("GET", f"/v1/credentials/{missing}", None),
        ("PUT", f"/v1/credentials/{missing}/value", {"value": "v"}),
        ("DELETE", f"/v1/credentials/{missing}", None),
    ]:
        response = await client.request(method, path, json=body, headers=owner.headers)
        assert_problem(response, 404)
    assert_problem(await client.get("/v1/credentials/not-a-uuid", headers=owner.headers), 422)


async def test_another_firms_credentials_are_invisible(
    client: AsyncClient, db: AsyncSession, owner: Actor, settings: Settings
) -> None:
    created = await create(client, owner)
    intruder = await make_firm(db, "Intruder")
    for method, path, body in [
        ("GET", f"/v1/credentials/{created['id']}", None),
        ("PUT", f"/v1/credentials/{created['id']}/value", {"value": "hijack"}),
        ("DELETE", f"/v1/credentials/{created['id']}", None),
    ]:
        response = await client.request(method, path, json=body, headers=intruder.headers)
        assert_problem(response, 404)
    listed = await client.get("/v1/credentials", headers=intruder.headers)
    assert listed.json()["items"] == []
    row = await stored(db, owner, "crm_api_key")
    assert cipher_of(settings).decrypt(row.value_encrypted) == SECRET


@pytest.mark.parametrize(
    ("role", "allowed"),
    [(Role.builder, True), (Role.admin, True), (Role.staff, False), (Role.client, False)],
)
async def test_only_credential_managers_reach_the_vault(
    client: AsyncClient, db: AsyncSession, owner: Actor, role: Role, allowed: bool
) -> None:
    created = await create(client, owner)
    user = await add_user(db, owner, role)
    calls = [
        ("GET", "/v1/credentials", None),
        ("GET", f"/v1/credentials/{created['id']}", None),
        ("PUT", f"/v1/credentials/{created['id']}/value", {"value": "v2"}),
        ("POST", "/v1/credentials", {"name": f"k_{role.value}", "value": "v"}),
        ("DELETE", f"/v1/credentials/{created['id']}", None),
    ]
    for method, path, body in calls:
        response = await client.request(method, path, json=body, headers=user.headers)
        if allowed:
            assert response.status_code < 300, response.text
        else:
            assert_problem(response, 403)


async def test_unauthenticated_is_401(client: AsyncClient) -> None:
    assert_problem(await client.get("/v1/credentials"), 401)


async def test_every_change_is_audited_without_the_value(
    client: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    created = await create(client, owner, description="CRM")
    await client.put(
        f"/v1/credentials/{created['id']}/value",
        json={"value": SECRET + "2"},
        headers=owner.headers,
    )
    await client.delete(f"/v1/credentials/{created['id']}", headers=owner.headers)
    await scope_to_firm(db, owner.firm.id)
    events = (
        await db.scalars(
            select(AuditEvent)
            .where(AuditEvent.record_type == "credential")
            .order_by(AuditEvent.created_at, AuditEvent.id)
        )
    ).all()
    assert [event.action for event in events] == [
        "credential.created",
        "credential.value_replaced",
        "credential.deleted",
    ]
    assert all(event.record_id == uuid.UUID(created["id"]) for event in events)
    assert all(event.actor_id == owner.user.id for event in events)
    assert events[0].summary == {"after": {"name": "crm_api_key", "description": "CRM"}}
    assert events[2].summary == {"before": {"name": "crm_api_key", "description": "CRM"}}
    for event in events:
        assert SECRET not in str(event.summary)
        assert "value_encrypted" not in str(event.summary)


async def test_resolve_for_run_returns_exactly_the_named_values(
    client: AsyncClient, db: AsyncSession, owner: Actor, settings: Settings
) -> None:
    await create(client, owner, name="crm_api_key", value="crm-secret")
    await create(client, owner, name="smtp_password", value="smtp-secret")
    await create(client, owner, name="unused", value="unused-secret")
    await scope_to_firm(db, owner.firm.id)
    cipher = cipher_of(settings)
    resolved = await credentials.resolve_for_run(
        db, owner.firm.id, ["smtp_password", "crm_api_key", "crm_api_key"], cipher=cipher
    )
    assert resolved == {"crm_api_key": "crm-secret", "smtp_password": "smtp-secret"}
    assert await credentials.resolve_for_run(db, owner.firm.id, [], cipher=cipher) == {}


async def test_resolve_for_run_names_every_missing_credential(
    client: AsyncClient, db: AsyncSession, owner: Actor, settings: Settings
) -> None:
    await create(client, owner)
    await scope_to_firm(db, owner.firm.id)
    with pytest.raises(UnknownCredentials) as caught:
        await credentials.resolve_for_run(
            db, owner.firm.id, ["crm_api_key", "nope", "Bad-Name"], cipher=cipher_of(settings)
        )
    assert caught.value.detail == "No credential named 'Bad-Name', 'nope' in this firm"
    assert caught.value.status == 422
    assert SECRET not in caught.value.detail


async def test_one_firm_can_never_resolve_another_firms_credential(
    client: AsyncClient, db: AsyncSession, owner: Actor, settings: Settings
) -> None:
    await create(client, owner, name="crm_api_key")
    firm_b = await make_firm(db, "Firm B")
    cipher = cipher_of(settings)

    # As the engine runs it: a tenant session of firm B asking for firm B's credentials.
    await scope_to_firm(db, firm_b.firm.id)
    with pytest.raises(UnknownCredentials, match="'crm_api_key'") as caught:
        await credentials.resolve_for_run(db, firm_b.firm.id, ["crm_api_key"], cipher=cipher)
    assert SECRET not in str(caught.value)

    # Even a caller that passes firm A's id inside firm B's session gets nothing: row-level
    # security hides A's rows whatever the query says.
    with pytest.raises(UnknownCredentials):
        await credentials.resolve_for_run(db, owner.firm.id, ["crm_api_key"], cipher=cipher)

    # And a raw query under B's scope sees no credential of A.
    count = await db.scalar(text("SELECT count(*) FROM credentials"))
    assert count == 0

    # When B makes its own credential of the same name, B gets B's value.
    await create(client, firm_b, name="crm_api_key", value="firm-b-value")
    await scope_to_firm(db, firm_b.firm.id)
    resolved = await credentials.resolve_for_run(db, firm_b.firm.id, ["crm_api_key"], cipher=cipher)
    assert resolved == {"crm_api_key": "firm-b-value"}


async def test_rotate_rewraps_every_credential_of_every_firm(
    db: AsyncSession, settings: Settings
) -> None:
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    # Credentials committed by other tests are encrypted with the session's key.
    session_key = settings.encryption_keys.get_secret_value() if settings.encryption_keys else ""
    firms = [await make_firm(db, "Rotate A"), await make_firm(db, "Rotate B")]
    before: dict[str, str] = {}
    for index, actor in enumerate(firms):
        await scope_to_firm(db, actor.firm.id)
        principal = principal_of(actor)
        credential = await credentials.create_credential(
            db,
            principal,
            Cipher([old_key]),
            fields=CredentialFields.model_validate(
                {"name": "crm_api_key", "value": f"value-{index}"}
            ),
        )
        before[str(credential.id)] = credential.value_encrypted

    rotated = await credentials.rotate(db, Cipher([new_key, old_key, session_key]))
    assert rotated >= 2

    for index, actor in enumerate(firms):
        row = await stored(db, actor, "crm_api_key")
        assert row.value_encrypted != before[str(row.id)]
        assert Cipher([new_key]).decrypt(row.value_encrypted) == f"value-{index}"
        with pytest.raises(RuntimeError, match="no configured encryption key"):
            Cipher([old_key]).decrypt(row.value_encrypted)
    # Back to the application role: the system scope ended with the rotation.
    assert await db.scalar(text("SELECT current_user")) == "firmflow_app"


async def test_rotate_rewraps_webhook_signing_secrets_too(
    db: AsyncSession, owner: Actor, settings: Settings
) -> None:
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    session_key = settings.encryption_keys.get_secret_value() if settings.encryption_keys else ""
    await scope_to_firm(db, owner.firm.id)
    principal = principal_of(owner)
    automation = await create_automation(db, principal, fields=AutomationFields(name="Hooked"))
    issued = await issue_inbound_webhook(
        db, principal, Cipher([old_key]), automation.id, signing=True
    )
    unsigned = await create_automation(db, principal, fields=AutomationFields(name="Unsigned"))
    await issue_inbound_webhook(db, principal, Cipher([old_key]), unsigned.id, signing=False)

    await credentials.rotate(db, Cipher([new_key, old_key, session_key]))

    await scope_to_firm(db, owner.firm.id)
    hooks = {
        hook.automation_id: hook.signing_secret_encrypted
        for hook in await db.scalars(
            select(InboundWebhook).execution_options(populate_existing=True)
        )
    }
    encrypted = hooks[automation.id]
    assert encrypted is not None
    assert Cipher([new_key]).decrypt(encrypted) == issued.signing_secret
    # A hook without a signing secret stays without one.
    assert hooks[unsigned.id] is None


async def test_rotate_rewraps_the_stripe_secret_key_and_webhook_secrets(
    db: AsyncSession, owner: Actor, settings: Settings
) -> None:
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    session_key = settings.encryption_keys.get_secret_value() if settings.encryption_keys else ""
    await scope_to_firm(db, owner.firm.id)
    principal = principal_of(owner)
    old = Cipher([old_key])
    await stripe_account.set_secret_key(
        db,
        principal,
        old,
        fields=stripe_account.SecretKeyFields(secret_key="sk_test_rotate0123456789"),
    )
    await stripe_account.add_webhook_secrets(
        db,
        principal,
        old,
        fields=stripe_account.WebhookSecretsCreate(
            secrets=[stripe_account.WebhookSecretFields(secret="whsec_rotate0123456789")]
        ),
    )

    await credentials.rotate(db, Cipher([new_key, old_key, session_key]))

    await scope_to_firm(db, owner.firm.id)
    new = Cipher([new_key])
    assert await stripe_account.firm_secret_key(db, owner.firm.id, new) == (
        "sk_test_rotate0123456789"
    )
    assert await stripe_account.active_webhook_secrets(
        db, owner.firm.id, new, now=datetime.now(UTC)
    ) == ["whsec_rotate0123456789"]


async def test_rotate_with_a_missing_old_key_fails_and_changes_nothing(
    db: AsyncSession, owner: Actor
) -> None:
    old_key = Fernet.generate_key().decode()
    await scope_to_firm(db, owner.firm.id)
    principal = principal_of(owner)
    await credentials.create_credential(
        db,
        principal,
        Cipher([old_key]),
        fields=CredentialFields.model_validate({"name": "k", "value": "v"}),
    )
    # The caller's transaction fails as a whole; a savepoint stands in for it here.
    with pytest.raises(RuntimeError, match="no configured encryption key"):
        async with db.begin_nested():
            await credentials.rotate(db, Cipher([Fernet.generate_key().decode()]))
    row = await stored(db, owner, "k")
    assert Cipher([old_key]).decrypt(row.value_encrypted) == "v"


class TestRedactor:
    def test_replaces_every_occurrence_in_every_string_leaf(self) -> None:
        redactor = Redactor.of(["s3cr3t", "tok-en"])
        value: dict[str, Any] = {
            "url": "https://api.example/?key=s3cr3t&again=s3cr3t",
            "headers": {"Authorization": "Bearer tok-en"},
            "list": ["s3cr3t", 1, None, True, 2.5, ["nested tok-en"]],
            "s3cr3t": "key holding the secret",
        }
        assert redactor.redact(value) == {
            "url": f"https://api.example/?key={REDACTED}&again={REDACTED}",
            "headers": {"Authorization": f"Bearer {REDACTED}"},
            "list": [REDACTED, 1, None, True, 2.5, [f"nested {REDACTED}"]],
            REDACTED: "key holding the secret",
        }
        # The input is left as it was.
        assert value["list"][0] == "s3cr3t"

    def test_catches_json_escaped_and_url_encoded_forms(self) -> None:
        secret = 'p@ss/w"rd &x=1'
        redactor = Redactor.of([secret])
        assert redactor.redact_text('{"password": "p@ss/w\\"rd &x=1"}') == (
            f'{{"password": "{REDACTED}"}}'
        )
        assert redactor.redact_text("?p=p%40ss%2Fw%22rd%20%26x%3D1") == f"?p={REDACTED}"
        assert redactor.redact_text("?p=p%40ss%2Fw%22rd+%26x%3D1") == f"?p={REDACTED}"

    def test_longest_secret_wins(self) -> None:
        redactor = Redactor.of(["abc", "abcdef"])
        assert redactor.redact_text("xabcdefx abc") == f"x{REDACTED}x {REDACTED}"

    def test_regex_characters_are_literal(self) -> None:
        redactor = Redactor.of([".*"])
        assert redactor.redact_text("keep this .* only") == f"keep this {REDACTED} only"

    def test_nothing_to_redact(self) -> None:
        redactor = Redactor.of(["", ""])
        value = {"a": ["b"]}
        assert redactor.redact(value) == value
        assert Redactor.of([]).redact_text("anything") == "anything"

    def test_tuples_become_lists(self) -> None:
        assert Redactor.of(["x"]).redact(("x", "y")) == [REDACTED, "y"]


async def test_a_server_without_encryption_keys_refuses_to_store_a_credential(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], owner: Actor
) -> None:
    from api.app import create_app

    keyless = settings.model_copy(update={"encryption_keys": None, "embedded": False})
    app = create_app(keyless, sessionmaker=sessionmaker)
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://testserver") as http:
        response = await http.post(
            "/v1/credentials", json={"name": "k", "value": SECRET}, headers=owner.headers
        )
        body = assert_problem(response, 503)
        assert "FIRMFLOW_ENCRYPTION_KEYS" in body["detail"]
        assert SECRET not in response.text
        listed = await http.get("/v1/credentials", headers=owner.headers)
        assert listed.json()["items"] == []
