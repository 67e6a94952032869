"""The Dropbox Sign adapter driven through whole envelopes by its loopback server
(tests/dropbox_sign_api_server.py): sent as multipart (signers in order, the cc, form
fields in points on the right documents and pages, our id in the metadata, the expiry),
its callbacks posted to our endpoint out of order and twice and answered as Dropbox Sign
requires, the merged signed PDF split back into each document with the audit page, a
cancel (twice), a decline, a cancel made at Dropbox Sign, and the provider's refusals."""

import io
from collections.abc import AsyncIterator, Iterator

import pytest
from httpx import AsyncClient
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.config import Settings
from core.crypto import Cipher
from models import DocumentVersion, Envelope, EnvelopeEvent, EnvelopeRecipient
from providers.esignature import EsignatureProviderRefused, RecipientState
from providers.esignature_dropbox_sign import ACKNOWLEDGEMENT
from providers.http import HttpPool
from providers.storage import Storage
from services.documents.blobs import blob_key
from services.esignature.connections import provider_for
from services.esignature.provider_sync import (
    send_to_provider,
    store_provider_documents,
    void_at_provider,
)
from tests.dropbox_sign_api_server import Callback, DropboxSignApiServer, dropbox_sign_api_server
from tests.esignature_provider_factories import (
    A4,
    DROPBOX_SIGN_KEY,
    LETTER,
    blank_pdf,
    connect,
    dropbox_sign_secrets,
    sent_envelope,
)
from tests.factories import Actor


@pytest.fixture
def dropbox() -> Iterator[DropboxSignApiServer]:
    with dropbox_sign_api_server(api_key=DROPBOX_SIGN_KEY) as server:
        yield server


@pytest.fixture
async def pool() -> AsyncIterator[HttpPool]:
    async with HttpPool(max_bytes=10 * 1024 * 1024) as shared:
        yield shared


@pytest.fixture
def cipher(settings: Settings) -> Cipher:
    return Cipher.from_settings(settings)


@pytest.fixture
async def connected(
    db: AsyncSession, owner: Actor, cipher: Cipher, dropbox: DropboxSignApiServer
) -> Actor:
    await connect(
        db,
        owner,
        cipher,
        provider="dropbox_sign",
        base_url=dropbox.base_url,
        secrets=dropbox_sign_secrets(),
    )
    return owner


async def _sent(
    db: AsyncSession,
    storage: Storage,
    settings: Settings,
    pool: HttpPool,
    actor: Actor,
    pdfs: list[bytes] | None = None,
) -> Envelope:
    envelope = await sent_envelope(db, storage, actor, provider="dropbox_sign", pdfs=pdfs)
    await send_to_provider(db, pool, settings, actor.firm.id, envelope.id, storage=storage)
    return envelope


async def _post(api: AsyncClient, actor: Actor, callback: Callback) -> None:
    response = await api.post(
        f"/v1/esignature/webhooks/dropbox-sign/{actor.firm.id}",
        content=callback.body,
        headers=callback.headers,
    )
    assert response.status_code == 200, response.text
    assert response.text == ACKNOWLEDGEMENT


async def _recipients(db: AsyncSession, envelope: Envelope) -> list[EnvelopeRecipient]:
    return list(
        await db.scalars(
            select(EnvelopeRecipient)
            .where(EnvelopeRecipient.envelope_id == envelope.id)
            .order_by(EnvelopeRecipient.routing_order, EnvelopeRecipient.role.desc())
            .execution_options(populate_existing=True)
        )
    )


async def test_a_full_envelope_with_out_of_order_and_duplicate_callbacks(
    db: AsyncSession,
    api: AsyncClient,
    storage: Storage,
    settings: Settings,
    pool: HttpPool,
    cipher: Cipher,
    connected: Actor,
    dropbox: DropboxSignApiServer,
) -> None:
    envelope = await _sent(
        db,
        storage,
        settings,
        pool,
        connected,
        pdfs=[blank_pdf(A4, title="one"), blank_pdf(LETTER, LETTER, title="two")],
    )
    ref = envelope.provider_ref
    assert ref is not None
    sent = dropbox.requests_made[ref]
    assert sent["metadata"] == {"firmflow_envelope_id": str(envelope.id)}
    assert sent["test_mode"] is False
    assert sent["cc_email_addresses"] == ["charles@example.com"]
    assert envelope.expires_at is not None
    assert sent["expires_at"] == int(envelope.expires_at.timestamp())
    placed = {(f["signer"], f["type"]): f for f in sent["form_fields"]}
    assert set(placed) == {
        (0, "signature"),
        (0, "date_signed"),
        (1, "signature"),
        (1, "date_signed"),
    }
    ada_field, ada_date = placed[0, "signature"], placed[0, "date_signed"]
    assert (ada_field["document_index"], ada_field["page"]) == (0, 1)
    assert (ada_field["x"], ada_field["y"]) == (round(0.1 * A4[0]), round(0.7 * A4[1]))
    assert (ada_date["document_index"], ada_date["page"]) == (1, 2)
    assert ada_date["y"] == round(0.5 * LETTER[1])
    assert placed[1, "signature"]["y"] == round(0.8 * A4[1])
    ada, grace, charles = await _recipients(db, envelope)
    signatures = {s["signer_email_address"]: s["signature_id"] for s in sent["signatures"]}
    assert ada.provider_recipient_id == signatures["ada@example.com"]
    assert grace.provider_recipient_id == signatures["grace@example.com"]
    assert charles.provider_recipient_id is None
    assert ada.provider_recipient_id is not None and grace.provider_recipient_id is not None

    ada_viewed = dropbox.view(ref, ada.provider_recipient_id)
    (ada_signed,) = dropbox.sign(ref, ada.provider_recipient_id)
    grace_signed, all_signed = dropbox.sign(ref, grace.provider_recipient_id)
    await _post(api, connected, all_signed)
    await _post(api, connected, ada_signed)
    await _post(api, connected, ada_viewed)
    await _post(api, connected, grace_signed)
    await _post(api, connected, all_signed)
    ada, grace, charles = await _recipients(db, envelope)
    assert (ada.status, grace.status, charles.status) == ("signed", "signed", "sent")
    kinds = await db.scalars(
        select(EnvelopeEvent.kind).where(EnvelopeEvent.envelope_id == envelope.id)
    )
    assert sorted(kinds.all()) == ["signed", "signed"]

    stored = await store_provider_documents(
        db, pool, storage, connected.firm.id, envelope.id, cipher=cipher
    )
    page_counts = []
    for row in stored:
        assert row.signed_version_id is not None
        version = await db.get_one(DocumentVersion, row.signed_version_id)
        key = blob_key(connected.firm.id, version.sha256)
        data = b"".join([chunk async for chunk in storage.read(key)])
        page_counts.append(len(PdfReader(io.BytesIO(data)).pages))
    # Each document's own pages and the audit trail page.
    assert page_counts == [2, 3]
    files = sum(1 for method, path in dropbox.calls if "/files/" in path)
    await store_provider_documents(db, pool, storage, connected.firm.id, envelope.id, cipher=cipher)
    assert sum(1 for method, path in dropbox.calls if "/files/" in path) == files


async def test_the_status_at_dropbox_sign(
    db: AsyncSession,
    storage: Storage,
    settings: Settings,
    pool: HttpPool,
    cipher: Cipher,
    connected: Actor,
    dropbox: DropboxSignApiServer,
) -> None:
    envelope = await _sent(db, storage, settings, pool, connected)
    ref = envelope.provider_ref
    assert ref is not None
    ada, grace, _ = await _recipients(db, envelope)
    assert ada.provider_recipient_id is not None and grace.provider_recipient_id is not None
    adapter = await provider_for(db, connected.firm.id, "dropbox_sign", cipher, pool)
    dropbox.view(ref, ada.provider_recipient_id)
    status = await adapter.fetch_status(ref)
    assert [(r.recipient_ref, r.state) for r in status.recipients] == [
        (ada.provider_recipient_id, RecipientState.viewed),
        (grace.provider_recipient_id, RecipientState.sent),
    ]
    dropbox.sign(ref, ada.provider_recipient_id)
    dropbox.decline(ref, grace.provider_recipient_id, "Wrong fee")
    status = await adapter.fetch_status(ref)
    assert [(r.state, r.decline_reason) for r in status.recipients] == [
        (RecipientState.signed, None),
        (RecipientState.declined, "Wrong fee"),
    ]
    await adapter.void(ref, "Declined")
    assert (await adapter.fetch_status(ref)).voided


async def test_a_cancel_a_decline_and_a_cancel_made_at_dropbox_sign(
    db: AsyncSession,
    api: AsyncClient,
    storage: Storage,
    settings: Settings,
    pool: HttpPool,
    cipher: Cipher,
    connected: Actor,
    dropbox: DropboxSignApiServer,
) -> None:
    # A sandbox account: its requests go out in test mode.
    await connect(
        db,
        connected,
        cipher,
        provider="dropbox_sign",
        base_url=dropbox.base_url,
        secrets={**dropbox_sign_secrets(), "test_mode": True},
    )
    cancelled = await _sent(db, storage, settings, pool, connected)
    assert cancelled.provider_ref is not None
    assert dropbox.requests_made[cancelled.provider_ref]["test_mode"] is True
    await void_at_provider(db, pool, connected.firm.id, cancelled.id, "Wrong fee", cipher=cipher)
    assert dropbox.requests_made[cancelled.provider_ref]["canceled"]
    # Gone already (410): done.
    await void_at_provider(db, pool, connected.firm.id, cancelled.id, "Again", cipher=cipher)

    declined = await _sent(db, storage, settings, pool, connected)
    assert declined.provider_ref is not None
    ada = (await _recipients(db, declined))[0]
    assert ada.provider_recipient_id is not None
    await _post(
        api, connected, dropbox.decline(declined.provider_ref, ada.provider_recipient_id, "Fee")
    )
    ada = (await _recipients(db, declined))[0]
    assert (ada.status, ada.decline_reason) == ("declined", "Fee")

    voided = await _sent(db, storage, settings, pool, connected)
    assert voided.provider_ref is not None
    await _post(api, connected, dropbox.cancel_here(voided.provider_ref))
    await db.refresh(voided)
    assert voided.status == "voided" and voided.void_reason == "Voided at Dropbox Sign"


async def test_a_refused_key_and_the_callback_test(
    db: AsyncSession,
    api: AsyncClient,
    storage: Storage,
    settings: Settings,
    pool: HttpPool,
    owner: Actor,
    cipher: Cipher,
    dropbox: DropboxSignApiServer,
) -> None:
    await connect(
        db,
        owner,
        cipher,
        provider="dropbox_sign",
        base_url=dropbox.base_url,
        secrets={"api_key": "not-the-key"},
    )
    envelope = await sent_envelope(db, storage, owner, provider="dropbox_sign")
    with pytest.raises(EsignatureProviderRefused) as refused:
        await send_to_provider(db, pool, settings, owner.firm.id, envelope.id, storage=storage)
    assert "not-the-key" not in refused.value.detail
    assert envelope.provider_ref is None
    # The callback test Dropbox Sign sends when the URL is saved, signed with the real key:
    # refused with the wrong one stored, answered once the right one is.
    response = await api.post(
        f"/v1/esignature/webhooks/dropbox-sign/{owner.firm.id}",
        content=dropbox.callback_test().body,
        headers=dropbox.callback_test().headers,
    )
    assert response.status_code == 400
    await connect(
        db,
        owner,
        cipher,
        provider="dropbox_sign",
        base_url=dropbox.base_url,
        secrets=dropbox_sign_secrets(),
    )
    await _post(api, owner, dropbox.callback_test())
