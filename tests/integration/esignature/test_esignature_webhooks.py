"""The provider webhook endpoints over HTTP: forged, stale, replayed and malformed
deliveries for DocuSign and Dropbox Sign, an unknown firm, a firm without a connection,
another firm's envelope, and what each leaves behind (nothing, for every refusal)."""

import json
import logging
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from httpx import AsyncClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.config import Settings
from core.crypto import Cipher
from core.db import scope_to_firm
from models import Envelope, EnvelopeEvent, EnvelopeRecipient
from providers.esignature import http_pool
from providers.esignature_docusign import sign
from providers.storage import Storage
from services.esignature.provider_sync import send_to_provider
from tests.docusign_api_server import connect_time
from tests.dropbox_sign_api_server import (
    DropboxSignApiServer,
    callback_body,
    dropbox_sign_api_server,
    hash_of,
)
from tests.esignature_provider_factories import (
    ACCOUNT_ID,
    DROPBOX_SIGN_KEY,
    HMAC_KEY,
    connect,
    docusign_secrets,
    dropbox_sign_secrets,
    sent_envelope,
)
from tests.factories import Actor, make_firm
from tests.problems import assert_problem

REFUSED = "The delivery does not verify for this endpoint"


@pytest.fixture
def cipher(settings: Settings) -> Cipher:
    return Cipher.from_settings(settings)


async def _docusign_envelope(
    db: AsyncSession, storage: Storage, actor: Actor, cipher: Cipher, *, ref: str
) -> Envelope:
    await connect(
        db,
        actor,
        cipher,
        provider="docusign",
        base_url="https://demo.docusign.net",
        secrets=docusign_secrets(),
        account_id=ACCOUNT_ID,
    )
    envelope = await sent_envelope(db, storage, actor, provider="docusign")
    envelope.provider_ref = ref
    for index, recipient in enumerate(
        await db.scalars(
            select(EnvelopeRecipient)
            .where(EnvelopeRecipient.envelope_id == envelope.id)
            .order_by(EnvelopeRecipient.routing_order, EnvelopeRecipient.role.desc())
        )
    ):
        recipient.provider_recipient_id = str(index + 1)
    await db.flush()
    return envelope


def _connect_delivery(
    ref: str,
    *,
    event: str = "recipient-completed",
    at: datetime | None = None,
    key: str = HMAC_KEY,
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        {
            "event": event,
            "generatedDateTime": connect_time(at or datetime.now(UTC)),
            "data": {"accountId": ACCOUNT_ID, "envelopeId": ref, "recipientId": "1"},
        }
    ).encode()
    return body, {"Content-Type": "application/json", "X-DocuSign-Signature-1": sign(key, body)}


async def _trail(db: AsyncSession, envelope: Envelope) -> int:
    count = await db.scalar(
        select(func.count())
        .select_from(EnvelopeEvent)
        .where(EnvelopeEvent.envelope_id == envelope.id)
    )
    return int(count or 0)


async def test_docusign_forged_stale_replayed_and_malformed(
    db: AsyncSession,
    api: AsyncClient,
    storage: Storage,
    owner: Actor,
    cipher: Cipher,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="firmflow.esignature")
    ref = str(uuid.uuid4())
    envelope = await _docusign_envelope(db, storage, owner, cipher, ref=ref)
    url = f"/v1/esignature/webhooks/docusign/{owner.firm.id}"

    forged = _connect_delivery(ref, key="a guessed key")
    stale = _connect_delivery(ref, at=datetime.now(UTC) - timedelta(days=8))
    tampered_body, tampered_headers = _connect_delivery(ref)
    tampered = (
        tampered_body.replace(b"recipient-completed", b"recipient-declined"),
        tampered_headers,
    )
    unsigned = (tampered_body, {"Content-Type": "application/json"})
    malformed_body = b'{"event": "recipient-completed", "data": '
    malformed = (malformed_body, {"X-DocuSign-Signature-1": sign(HMAC_KEY, malformed_body)})
    for body, headers in (forged, stale, tampered, unsigned, malformed):
        problem = assert_problem(await api.post(url, content=body, headers=headers), 400)
        assert problem["detail"] == REFUSED
    assert await _trail(db, envelope) == 0
    # One answer for all; the reasons in the log, no secret with them.
    reasons = [r.getMessage() for r in caplog.records if "webhook refused" in r.getMessage()]
    assert any("no signature matches" in reason for reason in reasons)
    assert any("outside the window" in reason for reason in reasons)
    assert not any(HMAC_KEY in reason for reason in reasons)

    genuine = _connect_delivery(ref)
    first = await api.post(url, content=genuine[0], headers=genuine[1])
    assert first.json() == {"received": True, "events": 1, "applied": 1}
    replayed = await api.post(url, content=genuine[0], headers=genuine[1])
    assert replayed.json() == {"received": True, "events": 1, "applied": 0}
    assert await _trail(db, envelope) == 1

    # An envelope DocuSign knows and firmflow does not: acknowledged, nothing applied.
    elsewhere = _connect_delivery(str(uuid.uuid4()))
    ignored = await api.post(url, content=elsewhere[0], headers=elsewhere[1])
    assert ignored.json()["applied"] == 0


async def test_unknown_firms_and_firms_without_a_connection_look_alike(
    db: AsyncSession, api: AsyncClient, storage: Storage, owner: Actor, cipher: Cipher
) -> None:
    ref = str(uuid.uuid4())
    envelope = await _docusign_envelope(db, storage, owner, cipher, ref=ref)
    other = await make_firm(db, "Other firm")
    body, headers = _connect_delivery(ref)
    answers = [
        await api.post(f"/v1/esignature/webhooks/docusign/{firm}", content=body, headers=headers)
        for firm in (uuid.uuid4(), "not-a-firm", other.firm.id)
    ]
    problems = [assert_problem(answer, 404) for answer in answers]
    assert len({(p["title"], p["detail"]) for p in problems}) == 1
    # The other firm connects with its own key: the first firm's envelope is not its.
    await connect(
        db,
        other,
        cipher,
        provider="docusign",
        base_url="https://demo.docusign.net",
        secrets=docusign_secrets(HMAC_KEY),
        account_id=ACCOUNT_ID,
    )
    crossed = await api.post(
        f"/v1/esignature/webhooks/docusign/{other.firm.id}", content=body, headers=headers
    )
    assert crossed.json()["applied"] == 0
    await scope_to_firm(db, owner.firm.id)
    assert await _trail(db, envelope) == 0
    # The Dropbox Sign endpoint of a firm connected to DocuSign only.
    content_type, callback = callback_body({"event": {}})
    dropbox = await api.post(
        f"/v1/esignature/webhooks/dropbox-sign/{owner.firm.id}",
        content=callback,
        headers={"Content-Type": content_type},
    )
    assert_problem(dropbox, 404)


def _dropbox_callback(
    ref: str,
    signature_id: str,
    *,
    event_type: str = "signature_request_viewed",
    at: datetime | None = None,
    key: str = DROPBOX_SIGN_KEY,
) -> tuple[bytes, dict[str, str]]:
    event_time = str(int((at or datetime.now(UTC)).timestamp()))
    content_type, body = callback_body(
        {
            "event": {
                "event_time": event_time,
                "event_type": event_type,
                "event_hash": hash_of(key, event_time, event_type),
                "event_metadata": {"related_signature_id": signature_id},
            },
            "signature_request": {"signature_request_id": ref, "signatures": []},
        }
    )
    return body, {"Content-Type": content_type}


async def test_dropbox_sign_forged_stale_unconfirmed_replayed_and_malformed(
    db: AsyncSession,
    api: AsyncClient,
    storage: Storage,
    settings: Settings,
    owner: Actor,
    cipher: Cipher,
) -> None:
    with dropbox_sign_api_server(api_key=DROPBOX_SIGN_KEY) as dropbox:
        await connect(
            db,
            owner,
            cipher,
            provider="dropbox_sign",
            base_url=dropbox.base_url,
            secrets=dropbox_sign_secrets(),
        )
        envelope = await sent_envelope(db, storage, owner, provider="dropbox_sign")
        async with http_pool() as pool:
            await send_to_provider(db, pool, settings, owner.firm.id, envelope.id, storage=storage)
        await _dropbox_deliveries(db, api, owner, envelope, dropbox)


async def _dropbox_deliveries(
    db: AsyncSession,
    api: AsyncClient,
    owner: Actor,
    envelope: Envelope,
    dropbox: DropboxSignApiServer,
) -> None:
    ref = envelope.provider_ref
    ada, grace = (
        await db.scalars(
            select(EnvelopeRecipient)
            .where(EnvelopeRecipient.envelope_id == envelope.id, EnvelopeRecipient.role == "signer")
            .order_by(EnvelopeRecipient.routing_order)
        )
    ).all()
    assert ref is not None and ada.provider_recipient_id and grace.provider_recipient_id
    url = f"/v1/esignature/webhooks/dropbox-sign/{owner.firm.id}"
    for body, headers in (
        _dropbox_callback(ref, ada.provider_recipient_id, key="guess"),
        _dropbox_callback(ref, ada.provider_recipient_id, at=datetime.now(UTC) - timedelta(days=2)),
        # A genuine hash (time and type) carried over to a signer who has not signed: the
        # API does not confirm it.
        _dropbox_callback(ref, grace.provider_recipient_id, event_type="signature_request_signed"),
        # Nobody has opened the documents yet.
        _dropbox_callback(ref, ada.provider_recipient_id),
        (b"json=%7B%7D", {"Content-Type": "application/x-www-form-urlencoded"}),
        (b"--x\r\n\r\n", {"Content-Type": "multipart/form-data; boundary=x"}),
    ):
        problem = assert_problem(await api.post(url, content=body, headers=headers), 400)
        assert problem["detail"] == REFUSED
    assert await _trail(db, envelope) == 0

    viewed = dropbox.view(ref, ada.provider_recipient_id)
    for _ in range(2):
        answer = await api.post(url, content=viewed.body, headers=viewed.headers)
        assert answer.status_code == 200 and answer.text == "Hello API Event Received"
    assert await _trail(db, envelope) == 1
    await db.refresh(ada)
    assert ada.status == "viewed"
    # Dropbox Sign's API down while confirming: 502, so the callback comes again.
    (signed,) = dropbox.sign(ref, ada.provider_recipient_id)
    dropbox.transient_failures.append(503)
    assert_problem(await api.post(url, content=signed.body, headers=signed.headers), 502)
    answer = await api.post(url, content=signed.body, headers=signed.headers)
    assert answer.status_code == 200
    await db.refresh(ada)
    assert ada.status == "signed"


async def test_a_body_too_large_is_refused(
    api: AsyncClient, owner: Actor, settings: Settings
) -> None:
    answer = await api.post(
        f"/v1/esignature/webhooks/docusign/{owner.firm.id}",
        content=b"x" * (settings.webhook_max_bytes + 1),
        headers={"Content-Type": "application/json"},
    )
    assert_problem(answer, 413)
