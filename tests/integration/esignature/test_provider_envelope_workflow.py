"""DocuSign and Dropbox Sign envelopes end to end through the app's own worker on the
time-skipping server: connected and sent through the API, EnvelopeWorkflow sends each to
its loopback provider, the provider's deliveries (out of order and twice) reach the
webhook, the workflow completes, and its last step stores the provider's signed PDF as the
document's next version."""

import asyncio
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import select
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from core.db import tenant_session
from models import DocumentVersion, EnvelopeDocument
from providers.esignature_dropbox_sign import ACKNOWLEDGEMENT
from tests.docusign_api_server import Delivery, DocuSignApiServer, docusign_api_server
from tests.dropbox_sign_api_server import dropbox_sign_api_server
from tests.esignature_factories import sent_envelope
from tests.esignature_provider_factories import (
    ACCESS_TOKEN,
    ACCOUNT_ID,
    DROPBOX_SIGN_KEY,
    HMAC_KEY,
    dropbox_sign_secrets,
)
from tests.esignature_workflow import DEADLINE, POLL_INTERVAL, Maker, finished, trail
from tests.factories import Actor


@pytest.fixture
def docusign() -> Iterator[DocuSignApiServer]:
    with docusign_api_server(
        account_id=ACCOUNT_ID, access_token=ACCESS_TOKEN, hmac_keys=[HMAC_KEY]
    ) as server:
        yield server


async def _connect(
    http: AsyncClient, actor: Actor, provider: str, secrets: dict[str, Any], **fields: str
) -> None:
    value = json.dumps(secrets)
    credential = await http.post(
        "/v1/credentials", json={"name": provider, "value": value}, headers=actor.headers
    )
    assert credential.status_code == 201, credential.text
    connection = {"credential_id": credential.json()["id"], **fields}
    saved = await http.put(
        f"/v1/firm/esignature-connections/{provider}", json=connection, headers=actor.headers
    )
    assert saved.status_code == 200, saved.text


async def _sent_at(sent: dict[str, Any]) -> str:
    """The provider's id of the one envelope it was sent, once it was."""
    async with asyncio.timeout(DEADLINE):
        while True:
            if sent:
                (ref,) = sent
                return str(ref)
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
    secrets = {"access_token": ACCESS_TOKEN, "hmac_keys": [HMAC_KEY]}
    await _connect(
        temporal_api,
        owner,
        "docusign",
        secrets,
        account_id=ACCOUNT_ID,
        base_url=docusign.base_url,
    )
    envelope = await sent_envelope(temporal_api, owner, provider="docusign", expiry_days=120)
    envelope_id = uuid.UUID(envelope["id"])
    ref = await _sent_at(docusign.envelopes)
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
    version = await _stored(committing_sessionmaker, owner, envelope_id)
    assert version.file_name.endswith("-signed.pdf")
    assert any("/documents/1" in path for method, path in docusign.requests if method == "GET")


async def _stored(maker: Maker, actor: Actor, envelope_id: uuid.UUID) -> DocumentVersion:
    async with tenant_session(actor.firm.id, maker) as session:
        (document,) = await session.scalars(
            select(EnvelopeDocument).where(EnvelopeDocument.envelope_id == envelope_id)
        )
        assert document.signed_version_id is not None
        return await session.get_one(DocumentVersion, document.signed_version_id)


async def test_a_dropbox_sign_envelope_completes_through_the_workflow(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    worker: Worker,
    committing_sessionmaker: Maker,
    committed_owner: Actor,
) -> None:
    owner = committed_owner
    with dropbox_sign_api_server(api_key=DROPBOX_SIGN_KEY) as dropbox:
        await _connect(
            temporal_api, owner, "dropbox_sign", dropbox_sign_secrets(), base_url=dropbox.base_url
        )
        envelope = await sent_envelope(
            temporal_api, owner, provider="dropbox_sign", expiry_days=120
        )
        envelope_id = uuid.UUID(envelope["id"])
        ref = await _sent_at(dropbox.requests_made)
        ada, grace = (s["signature_id"] for s in dropbox.requests_made[ref]["signatures"])
        (ada_signed,) = dropbox.sign(ref, ada)
        grace_signed, all_signed = dropbox.sign(ref, grace)
        url = f"/v1/esignature/webhooks/dropbox-sign/{owner.firm.id}"
        for callback in (all_signed, ada_signed, grace_signed, all_signed):
            answer = await temporal_api.post(url, content=callback.body, headers=callback.headers)
            assert answer.status_code == 200 and answer.text == ACKNOWLEDGEMENT

        result = await finished(temporal_env, envelope["id"])
        assert result.status == "completed"
        version = await _stored(committing_sessionmaker, owner, envelope_id)
        assert version.file_name.endswith("-signed.pdf")
        assert any("/files/" in path for _, path in dropbox.calls)
