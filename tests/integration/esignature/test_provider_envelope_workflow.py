"""A DocuSign envelope end to end through the app's own worker on the time-skipping server:
connected and sent through the API, EnvelopeWorkflow sends it to the loopback DocuSign,
Connect's deliveries (out of order and twice) reach the webhook, the workflow completes,
and its last step stores DocuSign's signed PDF as the document's next version."""

import asyncio
import json
import uuid
from collections.abc import Iterator

import pytest
from httpx import AsyncClient
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from core.db import tenant_session
from models import DocumentVersion, EnvelopeDocument
from tests.docusign_api_server import Delivery, DocuSignApiServer, docusign_api_server
from tests.esignature_factories import sent_envelope
from tests.esignature_provider_factories import ACCESS_TOKEN, ACCOUNT_ID, HMAC_KEY
from tests.esignature_workflow import DEADLINE, POLL_INTERVAL, Maker, finished, trail
from tests.factories import Actor


@pytest.fixture
def docusign() -> Iterator[DocuSignApiServer]:
    with docusign_api_server(
        account_id=ACCOUNT_ID, access_token=ACCESS_TOKEN, hmac_keys=[HMAC_KEY]
    ) as server:
        yield server


async def _connect(http: AsyncClient, actor: Actor, docusign: DocuSignApiServer) -> None:
    value = json.dumps({"access_token": ACCESS_TOKEN, "hmac_keys": [HMAC_KEY]})
    credential = await http.post(
        "/v1/credentials", json={"name": "docusign", "value": value}, headers=actor.headers
    )
    assert credential.status_code == 201, credential.text
    connection = {
        "credential_id": credential.json()["id"],
        "account_id": ACCOUNT_ID,
        "base_url": docusign.base_url,
    }
    saved = await http.put(
        "/v1/firm/esignature-connections/docusign", json=connection, headers=actor.headers
    )
    assert saved.status_code == 200, saved.text


async def _sent_at_docusign(docusign: DocuSignApiServer) -> str:
    async with asyncio.timeout(DEADLINE):
        while True:
            if docusign.envelopes:
                (ref,) = docusign.envelopes
                return ref
            await asyncio.sleep(POLL_INTERVAL)


async def _post(http: AsyncClient, actor: Actor, delivery: Delivery) -> None:
    response = await http.post(
        f"/v1/esignature/webhooks/docusign/{actor.firm.id}",
        content=delivery.body,
        headers=delivery.headers,
    )
    assert response.status_code == 200, response.text


async def test_a_docusign_envelope_completes_through_the_workflow(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    committing_sessionmaker: Maker,
    committed_owner: Actor,
    docusign: DocuSignApiServer,
) -> None:
    owner = committed_owner
    await _connect(temporal_api, owner, docusign)
    envelope = await sent_envelope(temporal_api, owner, provider="docusign", expiry_days=120)
    envelope_id = uuid.UUID(envelope["id"])
    ref = await _sent_at_docusign(docusign)
    assert docusign.envelopes[ref]["customFields"] == {"firmflow_envelope_id": str(envelope_id)}

    ada_viewed = docusign.view(ref, "1")
    (ada_signed,) = docusign.sign(ref, "1")
    grace_signed, completed = docusign.sign(ref, "2")
    for delivery in (ada_signed, ada_viewed, completed, ada_signed, grace_signed, completed):
        await _post(temporal_api, owner, delivery)

    result = await finished(temporal_env, envelope["id"])
    assert result.status == "completed"
    kinds = [
        event.kind for event in await trail(committing_sessionmaker, owner.firm.id, envelope_id)
    ]
    assert kinds.count("signed") == 2 and kinds.count("viewed") == 0
    assert kinds.index("sealed") < kinds.index("completed")
    async with tenant_session(owner.firm.id, committing_sessionmaker) as session:
        (document,) = await session.scalars(
            select(EnvelopeDocument).where(EnvelopeDocument.envelope_id == envelope_id)
        )
        assert document.signed_version_id is not None
        version = await session.get_one(DocumentVersion, document.signed_version_id)
        assert version.sha256 == document.signed_sha256
        assert version.file_name.endswith("-signed.pdf")
    assert any("/documents/1" in path for method, path in docusign.requests if method == "GET")
