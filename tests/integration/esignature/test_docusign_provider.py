"""The DocuSign adapter driven through whole envelopes by its loopback server
(tests/docusign_api_server.py): sent (tabs in points on the right pages, the expiry, the
reminders and our id as a custom field), its Connect deliveries posted to our endpoint out
of order and twice, the signed documents fetched and stored as new versions; a send
retried after a lost answer, a void (twice), a decline, a void made at DocuSign, and the
provider's refusals and outages."""

import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.config import Settings
from core.crypto import Cipher
from models import (
    DocumentVersion,
    Envelope,
    EnvelopeDocument,
    EnvelopeEvent,
    EnvelopeRecipient,
    Firm,
    LegalHold,
    OutboxMessage,
)
from providers.esignature import (
    EsignatureProviderRefused,
    EsignatureProviderUnavailable,
    RecipientState,
)
from providers.http import HttpPool
from providers.storage import Storage
from services.esignature.connections import provider_for
from services.esignature.provider_sync import (
    send_to_provider,
    store_provider_documents,
    void_at_provider,
)
from tests.docusign_api_server import Delivery, DocuSignApiServer, docusign_api_server
from tests.esignature_provider_factories import (
    A4,
    ACCESS_TOKEN,
    ACCOUNT_ID,
    HMAC_KEY,
    LETTER,
    connect,
    docusign_secrets,
    sent_envelope,
)
from tests.factories import Actor


@pytest.fixture
def docusign() -> Iterator[DocuSignApiServer]:
    with docusign_api_server(
        account_id=ACCOUNT_ID, access_token=ACCESS_TOKEN, hmac_keys=[HMAC_KEY]
    ) as server:
        yield server


@pytest.fixture
async def pool() -> AsyncIterator[HttpPool]:
    async with HttpPool(max_bytes=10 * 1024 * 1024) as shared:
        yield shared


@pytest.fixture
async def connected(
    db: AsyncSession, owner: Actor, settings: Settings, docusign: DocuSignApiServer
) -> Actor:
    await connect(
        db,
        owner,
        Cipher.from_settings(settings),
        provider="docusign",
        base_url=docusign.base_url,
        secrets=docusign_secrets(),
        account_id=ACCOUNT_ID,
    )
    return owner


async def _sent(
    db: AsyncSession, storage: Storage, settings: Settings, pool: HttpPool, actor: Actor
) -> Envelope:
    envelope = await sent_envelope(db, storage, actor, provider="docusign")
    await send_to_provider(db, pool, settings, actor.firm.id, envelope.id, storage=storage)
    return envelope


async def _post(api: AsyncClient, actor: Actor, delivery: Delivery) -> dict[str, Any]:
    response = await api.post(
        f"/v1/esignature/webhooks/docusign/{actor.firm.id}",
        content=delivery.body,
        headers=delivery.headers,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _recipients(db: AsyncSession, envelope: Envelope) -> list[EnvelopeRecipient]:
    return list(
        await db.scalars(
            select(EnvelopeRecipient)
            .where(EnvelopeRecipient.envelope_id == envelope.id)
            .order_by(EnvelopeRecipient.routing_order, EnvelopeRecipient.role.desc())
            .execution_options(populate_existing=True)
        )
    )


def _posts(docusign: DocuSignApiServer) -> int:
    return sum(1 for method, path in docusign.requests if method == "POST")


async def test_an_envelope_is_sent_with_tabs_in_points_and_once(
    db: AsyncSession,
    storage: Storage,
    settings: Settings,
    pool: HttpPool,
    connected: Actor,
    docusign: DocuSignApiServer,
) -> None:
    envelope = await _sent(db, storage, settings, pool, connected)

    assert envelope.provider_ref in docusign.envelopes
    sent = docusign.envelopes[envelope.provider_ref]
    request = sent["request"]
    ada, grace = request["recipients"]["signers"]
    assert (ada["recipientId"], ada["routingOrder"]) == ("1", "1")
    assert (grace["recipientId"], grace["routingOrder"]) == ("2", "2")
    assert request["recipients"]["carbonCopies"][0]["email"] == "charles@example.com"
    # A signature at (0.1, 0.7) of the first page (A4), a date at (0.1, 0.5) of the
    # second (Letter): points from the top-left corner.
    sign_here = ada["tabs"]["signHereTabs"][0]
    assert (sign_here["documentId"], sign_here["pageNumber"]) == ("1", "1")
    assert (sign_here["xPosition"], sign_here["yPosition"]) == (
        str(round(0.1 * A4[0])),
        str(round(0.7 * A4[1])),
    )
    date_signed = ada["tabs"]["dateSignedTabs"][0]
    assert date_signed["pageNumber"] == "2"
    assert date_signed["yPosition"] == str(round(0.5 * LETTER[1]))
    assert grace["tabs"]["signHereTabs"][0]["yPosition"] == str(round(0.8 * A4[1]))
    assert request["notification"]["expirations"]["expireAfter"] == "30"
    assert request["notification"]["reminders"]["reminderDelay"] == "2"
    assert request["notification"]["reminders"]["reminderFrequency"] == "3"
    assert sent["customFields"] == {"firmflow_envelope_id": str(envelope.id)}
    refs = [r.provider_recipient_id for r in await _recipients(db, envelope)]
    assert refs == ["1", "2", "3"]

    # Sent already: nothing is sent again.
    await send_to_provider(db, pool, settings, connected.firm.id, envelope.id, storage=storage)
    # The answer was lost before the ref was stored: the retry finds the first envelope.
    first_ref = envelope.provider_ref
    envelope.provider_ref = None
    await db.flush()
    await send_to_provider(db, pool, settings, connected.firm.id, envelope.id, storage=storage)
    assert envelope.provider_ref == first_ref
    assert _posts(docusign) == 1
    assert len(docusign.envelopes) == 1


async def test_a_full_envelope_with_out_of_order_and_duplicate_deliveries(
    db: AsyncSession,
    api: AsyncClient,
    storage: Storage,
    settings: Settings,
    pool: HttpPool,
    connected: Actor,
    docusign: DocuSignApiServer,
) -> None:
    envelope = await _sent(db, storage, settings, pool, connected)
    ref = envelope.provider_ref
    assert ref is not None
    ada_viewed = docusign.view(ref, "1")
    ada_signed = docusign.sign(ref, "1")
    grace_viewed = docusign.view(ref, "2")
    grace_signed, completed = docusign.sign(ref, "2")

    assert (await _post(api, connected, ada_viewed))["applied"] == 1
    assert (await _post(api, connected, ada_signed[0]))["applied"] == 1
    assert (await _post(api, connected, ada_signed[0]))["applied"] == 0
    # The envelope's completion before Grace's own events: she signed, says DocuSign.
    assert (await _post(api, connected, completed))["applied"] == 1
    assert (await _post(api, connected, grace_viewed))["applied"] == 0
    assert (await _post(api, connected, grace_signed))["applied"] == 0
    assert (await _post(api, connected, completed))["applied"] == 0
    assert (await _post(api, connected, ada_viewed))["applied"] == 0

    ada, grace, charles = await _recipients(db, envelope)
    assert (ada.status, grace.status, charles.status) == ("signed", "signed", "sent")
    assert ada.viewed_at is not None and grace.viewed_at is None
    events = (
        await db.execute(
            select(EnvelopeEvent.kind, EnvelopeEvent.recipient_id, EnvelopeEvent.source)
            .where(EnvelopeEvent.envelope_id == envelope.id)
            .order_by(EnvelopeEvent.occurred_at, EnvelopeEvent.id)
        )
    ).all()
    assert sorted((kind, rid) for kind, rid, _ in events) == sorted(
        [("viewed", ada.id), ("signed", ada.id), ("signed", grace.id)]
    )
    assert {source for _, _, source in events} == {"docusign"}
    signals = await db.scalars(
        select(OutboxMessage.dedupe_key).where(
            OutboxMessage.dedupe_key.like(f"signal:envelope-{envelope.id}:%")
        )
    )
    assert len(signals.all()) == 3

    stored = await store_provider_documents(
        db, pool, storage, connected.firm.id, envelope.id, cipher=Cipher.from_settings(settings)
    )
    (document,) = stored
    assert document.signed_version_id is not None and document.signed_sha256 is not None
    version = await db.get_one(DocumentVersion, document.signed_version_id)
    assert version.sha256 == document.signed_sha256
    assert version.document_id == document.document_id
    data = b"".join([chunk async for chunk in storage.read(_key(connected, version))])
    assert b"DocuSign completed" in data
    fetched = sum(1 for m, p in docusign.requests if m == "GET" and "/documents/" in p)
    # Stored once: a retried step fetches nothing again.
    again = await store_provider_documents(
        db, pool, storage, connected.firm.id, envelope.id, cipher=Cipher.from_settings(settings)
    )
    assert [row.signed_version_id for row in again] == [document.signed_version_id]
    assert sum(1 for m, p in docusign.requests if m == "GET" and "/documents/" in p) == fetched
    sealed = await db.scalar(
        select(EnvelopeEvent.detail).where(
            EnvelopeEvent.envelope_id == envelope.id, EnvelopeEvent.kind == "sealed"
        )
    )
    assert sealed is not None and sealed["sealed_by"] == "docusign"


def _key(actor: Actor, version: DocumentVersion) -> str:
    from services.documents.blobs import blob_key

    return blob_key(actor.firm.id, version.sha256)


async def test_the_status_at_docusign(
    db: AsyncSession,
    storage: Storage,
    settings: Settings,
    pool: HttpPool,
    connected: Actor,
    docusign: DocuSignApiServer,
) -> None:
    envelope = await _sent(db, storage, settings, pool, connected)
    ref = envelope.provider_ref
    assert ref is not None
    adapter = await provider_for(
        db, connected.firm.id, "docusign", Cipher.from_settings(settings), pool
    )
    docusign.sign(ref, "1")
    docusign.view(ref, "2")
    status = await adapter.fetch_status(ref)
    assert (status.completed, status.voided) == (False, False)
    assert [(r.recipient_ref, r.state) for r in status.recipients] == [
        ("1", RecipientState.signed),
        ("2", RecipientState.viewed),
        ("3", RecipientState.sent),
    ]
    docusign.sign(ref, "2")
    assert (await adapter.fetch_status(ref)).completed
    with pytest.raises(EsignatureProviderRefused):
        await adapter.fetch_status("00000000-0000-0000-0000-000000000000")


async def test_two_documents_come_back_each_as_its_own_version(
    db: AsyncSession,
    storage: Storage,
    settings: Settings,
    pool: HttpPool,
    connected: Actor,
    docusign: DocuSignApiServer,
) -> None:
    from tests.esignature_provider_factories import blank_pdf

    envelope = await sent_envelope(
        db,
        storage,
        connected,
        provider="docusign",
        pdfs=[blank_pdf(A4, title="one"), blank_pdf(LETTER, LETTER, title="two")],
    )
    await send_to_provider(db, pool, settings, connected.firm.id, envelope.id, storage=storage)
    ref = envelope.provider_ref
    assert ref is not None
    date_tab = docusign.envelopes[ref]["request"]["recipients"]["signers"][0]["tabs"][
        "dateSignedTabs"
    ][0]
    assert (date_tab["documentId"], date_tab["pageNumber"]) == ("2", "2")
    docusign.sign(ref, "1")
    docusign.sign(ref, "2")
    stored = await store_provider_documents(
        db, pool, storage, connected.firm.id, envelope.id, cipher=Cipher.from_settings(settings)
    )
    assert len({row.signed_version_id for row in stored}) == 2
    assert all(row.signed_version_id is not None for row in stored)


async def test_signed_documents_go_under_legal_hold_when_the_firm_says_so(
    db: AsyncSession,
    storage: Storage,
    settings: Settings,
    pool: HttpPool,
    connected: Actor,
    docusign: DocuSignApiServer,
) -> None:
    firm = await db.get_one(Firm, connected.firm.id)
    firm.esignature_legal_hold = True
    envelope = await _sent(db, storage, settings, pool, connected)
    assert envelope.provider_ref is not None
    docusign.sign(envelope.provider_ref, "1")
    docusign.sign(envelope.provider_ref, "2")
    (document,) = await store_provider_documents(
        db, pool, storage, connected.firm.id, envelope.id, cipher=Cipher.from_settings(settings)
    )
    holds = await db.scalars(select(LegalHold).where(LegalHold.document_id == document.document_id))
    (hold,) = holds.all()
    assert str(envelope.id) in hold.reason


async def test_a_void_reaches_docusign_once(
    db: AsyncSession,
    storage: Storage,
    settings: Settings,
    pool: HttpPool,
    connected: Actor,
    docusign: DocuSignApiServer,
) -> None:
    envelope = await _sent(db, storage, settings, pool, connected)
    assert envelope.provider_ref is not None
    await void_at_provider(
        db, pool, connected.firm.id, envelope.id, "Wrong fee", cipher=Cipher.from_settings(settings)
    )
    voided = docusign.envelopes[envelope.provider_ref]
    assert (voided["status"], voided["voidedReason"]) == ("voided", "Wrong fee")
    # Voided already: no second PUT (DocuSign would refuse it).
    await void_at_provider(
        db, pool, connected.firm.id, envelope.id, "Again", cipher=Cipher.from_settings(settings)
    )
    assert sum(1 for method, _ in docusign.requests if method == "PUT") == 1


async def test_an_expired_envelope_is_sent_again_as_a_new_docusign_envelope(
    db: AsyncSession,
    storage: Storage,
    settings: Settings,
    pool: HttpPool,
    connected: Actor,
    docusign: DocuSignApiServer,
) -> None:
    envelope = await _sent(db, storage, settings, pool, connected)
    first = envelope.provider_ref
    assert first is not None
    envelope.status = "expired"
    await void_at_provider(
        db, pool, connected.firm.id, envelope.id, "Expired", cipher=Cipher.from_settings(settings)
    )
    assert docusign.envelopes[first]["status"] == "voided"
    assert envelope.provider_ref is None
    assert all(r.provider_recipient_id is None for r in await _recipients(db, envelope))
    # Re-sent: a new envelope at DocuSign (the voided one is not taken for it).
    envelope.status, envelope.send_round = "sent", 2
    await send_to_provider(db, pool, settings, connected.firm.id, envelope.id, storage=storage)
    assert envelope.provider_ref not in (None, first)
    assert [r.provider_recipient_id for r in await _recipients(db, envelope)] == ["1", "2", "3"]


async def test_a_decline_and_a_void_made_at_docusign(
    db: AsyncSession,
    api: AsyncClient,
    storage: Storage,
    settings: Settings,
    pool: HttpPool,
    connected: Actor,
    docusign: DocuSignApiServer,
) -> None:
    declined = await _sent(db, storage, settings, pool, connected)
    assert declined.provider_ref is not None
    assert (await _post(api, connected, docusign.decline(declined.provider_ref, "1", "No")))[
        "applied"
    ] == 1
    ada = (await _recipients(db, declined))[0]
    assert ada.status == "declined" and ada.declined_at is not None

    voided = await _sent(db, storage, settings, pool, connected)
    assert voided.provider_ref is not None
    delivery = docusign.void_here(voided.provider_ref)
    assert (await _post(api, connected, delivery))["applied"] == 1
    assert (await _post(api, connected, delivery))["applied"] == 0
    await db.refresh(voided)
    assert voided.status == "voided" and voided.void_reason == "Voided at DocuSign"
    signal = await db.scalar(
        select(OutboxMessage.payload).where(
            OutboxMessage.dedupe_key == f"signal:envelope-{voided.id}:voided:1"
        )
    )
    assert signal is not None and signal["signal"] == "voided"
    emitted = await db.scalar(
        select(OutboxMessage.payload).where(
            OutboxMessage.dedupe_key == f"envelope.voided:{voided.id}:1"
        )
    )
    assert emitted is not None and emitted["reason"] == "Voided at DocuSign"


async def test_refusals_and_outages(
    db: AsyncSession,
    storage: Storage,
    settings: Settings,
    pool: HttpPool,
    owner: Actor,
    docusign: DocuSignApiServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    envelope = await sent_envelope(db, storage, owner, provider="docusign")
    # No connection yet.
    with pytest.raises(EsignatureProviderRefused):
        await send_to_provider(db, pool, settings, owner.firm.id, envelope.id, storage=storage)
    cipher = Cipher.from_settings(settings)
    await connect(
        db,
        owner,
        cipher,
        provider="docusign",
        base_url=docusign.base_url,
        secrets={**docusign_secrets(), "access_token": "expired-token"},
        account_id=ACCOUNT_ID,
    )
    caplog.set_level(logging.WARNING, logger="firmflow.esignature")
    with pytest.raises(EsignatureProviderRefused) as refused:
        await send_to_provider(db, pool, settings, owner.firm.id, envelope.id, storage=storage)
    assert "expired-token" not in refused.value.detail
    assert "DocuSign answered 401 (USER_AUTHENTICATION_FAILED)" in caplog.messages
    assert not any("expired-token" in message for message in caplog.messages)
    await connect(
        db,
        owner,
        cipher,
        provider="docusign",
        base_url=docusign.base_url,
        secrets=docusign_secrets(),
        account_id=ACCOUNT_ID,
    )
    docusign.transient_failures.append(503)
    with pytest.raises(EsignatureProviderUnavailable) as unavailable:
        await send_to_provider(db, pool, settings, owner.firm.id, envelope.id, storage=storage)
    assert not isinstance(unavailable.value, EsignatureProviderRefused)
    assert envelope.provider_ref is None
    # The outage passed: the retry sends it.
    await send_to_provider(db, pool, settings, owner.firm.id, envelope.id, storage=storage)
    assert envelope.provider_ref in docusign.envelopes
    rows = await db.scalars(
        select(EnvelopeDocument).where(EnvelopeDocument.envelope_id == envelope.id)
    )
    assert all(row.signed_version_id is None for row in rows)


def _rsa_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


async def test_the_jwt_grant_gets_a_token_once_and_a_wrong_key_is_refused(
    db: AsyncSession,
    storage: Storage,
    settings: Settings,
    pool: HttpPool,
    owner: Actor,
    docusign: DocuSignApiServer,
) -> None:
    private, public = _rsa_pair()
    docusign.jwt_public_key = public
    grant = {
        "integration_key": docusign.integration_key,
        "user_id": docusign.user_id,
        "private_key": private,
        "oauth_base_url": docusign.base_url,
        "hmac_keys": [HMAC_KEY],
    }
    cipher = Cipher.from_settings(settings)
    await connect(
        db,
        owner,
        cipher,
        provider="docusign",
        base_url=docusign.base_url,
        secrets=grant,
        account_id=ACCOUNT_ID,
    )
    first = await _sent(db, storage, settings, pool, owner)
    second = await _sent(db, storage, settings, pool, owner)
    assert {first.provider_ref, second.provider_ref} <= set(docusign.envelopes)
    # One token for both sends (and the lookups before them).
    assert docusign.grants == 1

    stranger, _ = _rsa_pair()
    await connect(
        db,
        owner,
        cipher,
        provider="docusign",
        base_url=docusign.base_url,
        secrets={**grant, "private_key": stranger},
        account_id=ACCOUNT_ID,
    )
    third = await sent_envelope(db, storage, owner, provider="docusign")
    with pytest.raises(EsignatureProviderRefused) as refused:
        await send_to_provider(db, pool, settings, owner.firm.id, third.id, storage=storage)
    assert "PRIVATE KEY" not in refused.value.detail
    assert docusign.grants == 1
