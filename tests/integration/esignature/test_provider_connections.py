"""The firm's e-signature provider connections over the API: saved, replaced, listed and
deleted by an admin, audited, never showing a secret; refused for staff, for another
firm's credential, for a credential without what the provider needs, for a DocuSign
connection without its account, and for a base URL that is neither https nor loopback."""

import json
import uuid
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.roles import Role
from models import AuditEvent
from tests.esignature_provider_factories import ACCESS_TOKEN, ACCOUNT_ID, HMAC_KEY
from tests.factories import Actor, add_user, make_firm
from tests.problems import assert_problem, pointers

URL = "/v1/firm/esignature-connections"


async def _credential(api: AsyncClient, actor: Actor, value: dict[str, Any]) -> str:
    response = await api.post(
        "/v1/credentials",
        json={"name": f"esign_{uuid.uuid4().hex[:8]}", "value": json.dumps(value)},
        headers=actor.headers,
    )
    assert response.status_code == 201, response.text
    credential_id: str = response.json()["id"]
    return credential_id


def _docusign(credential_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "credential_id": credential_id,
        "account_id": ACCOUNT_ID,
        "base_url": "https://demo.docusign.net/",
        **overrides,
    }


async def test_an_admin_connects_replaces_lists_and_deletes(
    db: AsyncSession, api: AsyncClient, owner: Actor
) -> None:
    secrets = {"access_token": ACCESS_TOKEN, "hmac_keys": [HMAC_KEY]}
    credential_id = await _credential(api, owner, secrets)
    saved = await api.put(f"{URL}/docusign", json=_docusign(credential_id), headers=owner.headers)
    assert saved.status_code == 200, saved.text
    body = saved.json()
    assert body["base_url"] == "https://demo.docusign.net"
    assert body["webhook_url"].endswith(f"/v1/esignature/webhooks/docusign/{owner.firm.id}")
    assert ACCESS_TOKEN not in saved.text and HMAC_KEY not in saved.text

    dropbox = await _credential(api, owner, {"api_key": "k" * 64})
    loopback = {"credential_id": dropbox, "base_url": "http://127.0.0.1:9"}
    replaced = await api.put(f"{URL}/dropbox_sign", json=loopback, headers=owner.headers)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["webhook_url"].endswith(f"/dropbox-sign/{owner.firm.id}")
    again = await api.put(
        f"{URL}/dropbox_sign",
        json={**loopback, "base_url": "https://api.hellosign.com"},
        headers=owner.headers,
    )
    assert again.json()["base_url"] == "https://api.hellosign.com"

    listed = await api.get(URL, headers=owner.headers)
    assert [item["provider"] for item in listed.json()["items"]] == ["docusign", "dropbox_sign"]
    assert "k" * 64 not in listed.text

    deleted = await api.delete(f"{URL}/docusign", headers=owner.headers)
    assert deleted.status_code == 204
    assert_problem(await api.delete(f"{URL}/docusign", headers=owner.headers), 404)
    actions = await db.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.record_type == "esignature_connection")
        .order_by(AuditEvent.created_at)
    )
    assert actions.all() == [
        "esignature_connection.saved",
        "esignature_connection.saved",
        "esignature_connection.saved",
        "esignature_connection.deleted",
    ]


@pytest.mark.parametrize(
    ("overrides", "pointer"),
    [
        ({"base_url": "http://demo.docusign.net"}, "/base_url"),
        ({"base_url": "ftp://127.0.0.1"}, "/base_url"),
        ({"base_url": "https://user:pw@demo.docusign.net"}, "/base_url"),
        ({"account_id": None}, "/account_id"),
    ],
    ids=["plain-http", "ftp", "userinfo", "no-account"],
)
async def test_invalid_connections_are_refused(
    api: AsyncClient, owner: Actor, overrides: dict[str, Any], pointer: str
) -> None:
    credential_id = await _credential(
        api, owner, {"access_token": ACCESS_TOKEN, "hmac_keys": [HMAC_KEY]}
    )
    answer = await api.put(
        f"{URL}/docusign", json=_docusign(credential_id, **overrides), headers=owner.headers
    )
    assert pointer in pointers(assert_problem(answer, 422))


async def test_the_credential_must_be_the_firms_and_hold_the_secrets(
    db: AsyncSession, api: AsyncClient, owner: Actor
) -> None:
    other = await make_firm(db, "Other firm")
    foreign = await _credential(api, other, {"access_token": ACCESS_TOKEN, "hmac_keys": ["k"]})
    answer = await api.put(f"{URL}/docusign", json=_docusign(foreign), headers=owner.headers)
    assert pointers(assert_problem(answer, 404)) == {"/credential_id"}

    grant = {"integration_key": "ik", "user_id": "u", "private_key": "pem", "hmac_keys": ["k"]}
    jwt_grant = await _credential(api, owner, grant)
    saved = await api.put(f"{URL}/docusign", json=_docusign(jwt_grant), headers=owner.headers)
    assert saved.status_code == 200, saved.text
    for value in (
        {"access_token": ACCESS_TOKEN},
        {"hmac_keys": [HMAC_KEY]},
        {},
        {**grant, "private_key": ""},
        {**grant, "oauth_base_url": "http://account-d.docusign.com"},
    ):
        lacking = await _credential(api, owner, value)
        answer = await api.put(f"{URL}/docusign", json=_docusign(lacking), headers=owner.headers)
        problem = assert_problem(answer, 422)
        assert pointers(problem) == {"/credential_id"}
        assert ACCESS_TOKEN not in answer.text
    not_json = await api.post(
        "/v1/credentials",
        json={"name": "plain_text", "value": "just a token"},
        headers=owner.headers,
    )
    answer = await api.put(
        f"{URL}/dropbox_sign",
        json={"credential_id": not_json.json()["id"], "base_url": "https://api.hellosign.com"},
        headers=owner.headers,
    )
    assert pointers(assert_problem(answer, 422)) == {"/credential_id"}
    assert_problem(
        await api.put(f"{URL}/adobe_sign", json=_docusign(foreign), headers=owner.headers), 422
    )


async def test_staff_may_not_manage_connections(
    db: AsyncSession, api: AsyncClient, owner: Actor
) -> None:
    staff = await add_user(db, owner, Role.staff)
    assert_problem(await api.get(URL, headers=staff.headers), 403)
    assert_problem(
        await api.put(f"{URL}/docusign", json=_docusign(str(uuid.uuid4())), headers=staff.headers),
        403,
    )
    assert_problem(await api.delete(f"{URL}/docusign", headers=staff.headers), 403)
