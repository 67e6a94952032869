"""EnvelopeWorkflow for an envelope sent through DocuSign (its loopback server): the
workflow's first step sends it there and the provider emails the recipients (firmflow
sends no link and no reminder); the Connect webhooks move the recipients and wake the
workflow; on completion it fetches DocuSign's signed PDF, stores it, emits
envelope.completed and emails it to every recipient once."""

import asyncio
import uuid
from collections.abc import Iterator

import pytest
from httpx import AsyncClient
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from core.config import Settings
from core.crypto import Cipher
from tests.docusign_api_server import Delivery, DocuSignApiServer, docusign_api_server
from tests.esignature_factories import SIGNER_ONE, SIGNER_TWO, sent_envelope
from tests.esignature_provider_factories import (
    ACCESS_TOKEN,
    ACCOUNT_ID,
    HMAC_KEY,
    connect,
    docusign_secrets,
)
from tests.esignature_workflow import (
    DEADLINE,
    POLL_INTERVAL,
    Maker,
    envelope_row,
    events_emitted,
    finished,
    mail_to,
    mailed,
    trail,
)
from tests.factories import Actor
from tests.mailbox import Mailbox

ADA, GRACE = SIGNER_ONE["email"], SIGNER_TWO["email"]


@pytest.fixture
def docusign() -> Iterator[DocuSignApiServer]:
    with docusign_api_server(
        account_id=ACCOUNT_ID, access_token=ACCESS_TOKEN, hmac_keys=[HMAC_KEY]
    ) as server:
        yield server


async def _webhook(http: AsyncClient, actor: Actor, delivery: Delivery) -> None:
    response = await http.post(
        f"/v1/esignature/webhooks/docusign/{actor.firm.id}",
        content=delivery.body,
        headers=delivery.headers,
    )
    assert response.status_code == 200, response.text


async def _provider_ref(maker: Maker, actor: Actor, envelope_id: uuid.UUID) -> str:
    async with asyncio.timeout(DEADLINE):
        while True:
            envelope = await envelope_row(maker, actor.firm.id, envelope_id)
            if envelope.provider_ref is not None:
                return envelope.provider_ref
            await asyncio.sleep(POLL_INTERVAL)


async def test_a_docusign_envelope_is_sent_there_and_completed_from_its_webhooks(
    settings: Settings,
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    mailing_worker: Worker,
    committing_sessionmaker: Maker,
    mailbox: Mailbox,
    committed_owner: Actor,
    docusign: DocuSignApiServer,
) -> None:
    maker, owner = committing_sessionmaker, committed_owner
    async with maker() as session:
        await connect(
            session,
            owner,
            Cipher.from_settings(settings),
            provider="docusign",
            base_url=docusign.base_url,
            secrets=docusign_secrets(),
            account_id=ACCOUNT_ID,
        )
        await session.commit()
    envelope = await sent_envelope(temporal_api, owner, provider="docusign", expiry_days=120)
    envelope_id = uuid.UUID(envelope["id"])
    ref = await _provider_ref(maker, owner, envelope_id)

    await _webhook(temporal_api, owner, docusign.view(ref, "1"))
    for delivery in docusign.sign(ref, "1"):
        await _webhook(temporal_api, owner, delivery)
    grace_signed, completed = docusign.sign(ref, "2")
    # The envelope's completion first, then Grace's own event, then both again.
    for delivery in (completed, grace_signed, completed, grace_signed):
        await _webhook(temporal_api, owner, delivery)

    for address in (ADA, GRACE, owner.user.email):
        await mailed(mailbox, address, "Completed")
    result = await finished(temporal_env, envelope["id"])
    assert result.status == "completed"
    assert (await envelope_row(maker, owner.firm.id, envelope_id)).status == "completed"
    [event] = await events_emitted(maker, owner.firm.id, "envelope.completed")
    assert event["envelope_id"] == str(envelope_id) and event["provider"] == "docusign"
    for address in (ADA, GRACE):
        [copy] = mail_to(mailbox, address, "Completed")
        [attached] = list(copy.iter_attachments())
        assert b"DocuSign completed" in attached.get_content()
        # DocuSign emailed the links and the reminders, not firmflow.
        assert mail_to(mailbox, address, "Please sign") == []
        assert mail_to(mailbox, address, "Reminder") == []
    kinds = [e.kind for e in await trail(maker, owner.firm.id, envelope_id)]
    assert "delivered" not in kinds and kinds.count("completed") == 1
    assert sum(1 for method, _ in docusign.requests if method == "POST") == 1
