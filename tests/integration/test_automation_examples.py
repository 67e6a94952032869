"""The example automations under examples/automations: each imports through the API,
validates and publishes as version 1."""

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from tests.factories import Actor, make_firm

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "automations"
BASE = "/v1/automations"
YAML = {"Content-Type": "application/yaml"}


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


def test_the_three_examples_are_shipped() -> None:
    assert [path.name for path in example_files()] == [
        "client-onboarding.yaml",
        "document-approval-reminder.yaml",
        "invoice-overdue-followup.yaml",
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
