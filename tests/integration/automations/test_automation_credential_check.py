"""A definition that reads a credential the firm does not have is refused when it is
validated, published or activated, with the JSON pointer of every use; only the firm's own
credentials count."""

import json
from typing import Any

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import Actor, make_firm
from tests.problems import assert_problem

BASE = "/v1/automations"
MISSING = [
    ("/steps/call/params/headers/Authorization", "crm_key"),
    ("/steps/each/body/steps/post/params/url", "crm_key"),
    ("/steps/each/body/steps/post/params/body/token", "erp_token"),
]


def definition() -> dict[str, Any]:
    return {
        "schema_version": 1,
        "trigger": {"type": "manual"},
        "start": "call",
        "steps": {
            "call": {
                "type": "http_request",
                "params": {
                    "method": "GET",
                    "url": "https://crm.example.com/clients",
                    "headers": {"Authorization": "Bearer {{ secrets.crm_key }}"},
                },
                "next": "each",
            },
            "each": {
                "type": "foreach",
                "params": {"items": "steps.call.output.body"},
                "body": {
                    "start": "post",
                    "steps": {
                        "post": {
                            "type": "http_request",
                            "params": {
                                "method": "POST",
                                "url": "https://erp.example.com/{{ secrets['crm_key'] }}",
                                "body": {"token": "{{ secrets.erp_token | upper }}"},
                            },
                        }
                    },
                },
            },
        },
    }


def expected_errors(*names: str) -> list[dict[str, str]]:
    """The problems of the uses of ``names`` in ``definition()``, in document order."""
    return [
        {
            "pointer": where,
            "detail": f"This step reads secrets.{name}, but your firm has no credential named "
            f"'{name}'. Create a credential named '{name}' under Settings → Credentials, or "
            "change the step.",
        }
        for where, name in MISSING
        if name in names
    ]


async def add_credential(http: AsyncClient, actor: Actor, name: str) -> str:
    response = await http.post(
        "/v1/credentials", json={"name": name, "value": "s3cret-value"}, headers=actor.headers
    )
    assert response.status_code == 201, response.text
    credential_id: str = response.json()["id"]
    return credential_id


async def with_draft(http: AsyncClient, actor: Actor, problems: list[dict[str, str]]) -> str:
    created = await http.post(BASE, json={"name": "Sync"}, headers=actor.headers)
    assert created.status_code == 201, created.text
    automation_id: str = created.json()["id"]
    saved = await http.put(
        f"{BASE}/{automation_id}/draft", content=json.dumps(definition()), headers=actor.headers
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["problems"] == problems
    return automation_id


async def test_validate_reports_each_use_of_each_missing_credential(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    response = await client.post(
        f"{BASE}/validate", content=json.dumps(definition()), headers=owner.headers
    )
    body = assert_problem(response, 422)
    assert body["errors"] == expected_errors("crm_key", "erp_token")

    await add_credential(client, owner, "crm_key")
    response = await client.post(
        f"{BASE}/validate", content=json.dumps(definition()), headers=owner.headers
    )
    assert assert_problem(response, 422)["errors"] == expected_errors("erp_token")


async def test_publish_is_refused_until_the_firm_has_the_credentials(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    other = await make_firm(db, "Other Firm")
    # Another firm's credentials of the same names are not this firm's.
    await add_credential(client, other, "crm_key")
    await add_credential(client, other, "erp_token")
    automation_id = await with_draft(client, owner, expected_errors("crm_key", "erp_token"))

    refused = await client.post(f"{BASE}/{automation_id}/publish", headers=owner.headers)
    body = assert_problem(refused, 422)
    assert body["title"] == "Missing credentials"
    assert body["errors"] == expected_errors("crm_key", "erp_token")
    versions = await client.get(f"{BASE}/{automation_id}/versions", headers=owner.headers)
    assert versions.json()["items"] == []

    await add_credential(client, owner, "crm_key")
    await add_credential(client, owner, "erp_token")
    published = await client.post(f"{BASE}/{automation_id}/publish", headers=owner.headers)
    assert published.status_code == 201, published.text
    assert published.json()["version"] == 1


async def test_activation_is_refused_when_a_credential_was_deleted_since_publishing(
    client: AsyncClient, db: AsyncSession
) -> None:
    owner = await make_firm(db)
    crm = await add_credential(client, owner, "crm_key")
    await add_credential(client, owner, "erp_token")
    automation_id = await with_draft(client, owner, [])
    published = await client.post(f"{BASE}/{automation_id}/publish", headers=owner.headers)
    assert published.status_code == 201, published.text
    deleted = await client.delete(f"/v1/credentials/{crm}", headers=owner.headers)
    assert deleted.status_code == 204, deleted.text

    refused = await client.post(f"{BASE}/{automation_id}/activate", headers=owner.headers)
    assert assert_problem(refused, 422)["errors"] == expected_errors("crm_key")
    detail = await client.get(f"{BASE}/{automation_id}", headers=owner.headers)
    assert detail.json()["status"] == "draft"

    await add_credential(client, owner, "crm_key")
    activated = await client.post(f"{BASE}/{automation_id}/activate", headers=owner.headers)
    assert activated.status_code == 200, activated.text
    assert activated.json()["status"] == "active"
