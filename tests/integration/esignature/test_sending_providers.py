"""The providers a firm can send with, for staff who may not see its connections: the
built-in one, then each connected provider whose connection still has its credential —
never an account, a URL or a secret."""

import json
import uuid
from typing import Any

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from core.roles import Role
from tests.esignature_provider_factories import ACCESS_TOKEN, ACCOUNT_ID, HMAC_KEY
from tests.factories import Actor, add_user, make_firm
from tests.problems import assert_problem

URL = "/v1/firm/esignature-providers"


async def connect(api: AsyncClient, actor: Actor, provider: str, body: dict[str, Any]) -> str:
    secrets = body.pop("secrets")
    credential = await api.post(
        "/v1/credentials",
        json={"name": f"esign_{uuid.uuid4().hex[:8]}", "value": json.dumps(secrets)},
        headers=actor.headers,
    )
    assert credential.status_code == 201, credential.text
    credential_id: str = credential.json()["id"]
    saved = await api.put(
        f"/v1/firm/esignature-connections/{provider}",
        json={**body, "credential_id": credential_id},
        headers=actor.headers,
    )
    assert saved.status_code == 200, saved.text
    return credential_id


async def providers(api: AsyncClient, actor: Actor) -> list[str]:
    response = await api.get(URL, headers=actor.headers)
    assert response.status_code == 200, response.text
    return [item["provider"] for item in response.json()["items"]]


async def test_staff_see_the_providers_the_firm_can_send_with(
    api: AsyncClient, owner: Actor, db: AsyncSession
) -> None:
    staff = await add_user(db, owner, Role.staff)
    assert await providers(api, staff) == ["builtin"]
    await connect(
        api,
        owner,
        "docusign",
        {
            "secrets": {"access_token": ACCESS_TOKEN, "hmac_keys": [HMAC_KEY]},
            "account_id": ACCOUNT_ID,
            "base_url": "https://demo.docusign.net",
        },
    )
    dropbox = await connect(
        api,
        owner,
        "dropbox_sign",
        {"secrets": {"api_key": "k" * 64}, "base_url": "https://api.hellosign.com"},
    )
    answer = await api.get(URL, headers=staff.headers)
    assert [item["provider"] for item in answer.json()["items"]] == [
        "builtin",
        "docusign",
        "dropbox_sign",
    ]
    assert all(set(item) == {"provider"} for item in answer.json()["items"])
    for secret in (ACCESS_TOKEN, HMAC_KEY, ACCOUNT_ID, "hellosign", "docusign.net", dropbox):
        assert secret not in answer.text
    # The connections themselves stay the admins'.
    assert_problem(await api.get("/v1/firm/esignature-connections", headers=staff.headers), 403)

    # A deleted credential leaves its connection unable to send.
    gone = await api.delete(f"/v1/credentials/{dropbox}", headers=owner.headers)
    assert gone.status_code == 204, gone.text
    assert await providers(api, staff) == ["builtin", "docusign"]
    # Another firm's connections are not this firm's.
    rival = await make_firm(db, "Rival Accounting")
    assert await providers(api, rival) == ["builtin"]


async def test_a_client_user_is_refused(api: AsyncClient, owner: Actor, db: AsyncSession) -> None:
    client_user = await add_user(db, owner, Role.client)
    assert_problem(await api.get(URL, headers=client_user.headers), 403)
