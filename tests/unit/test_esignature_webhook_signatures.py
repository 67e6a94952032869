"""The DocuSign Connect and Dropbox Sign verifiers on their own: genuine deliveries, forged
ones (another key, a changed body, a changed hash, no signature), stale and future ones,
malformed ones, key rotation, and the events they carry (replays are recognised later, by
the trail: tests/integration/esignature/test_esignature_webhooks.py)."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from providers.esignature import EventKind, WebhookRejected
from providers.esignature_docusign import STALE_AFTER as DOCUSIGN_STALE
from providers.esignature_docusign import parse_event, sign, verify
from providers.esignature_dropbox_sign import STALE_AFTER as DROPBOX_STALE
from providers.esignature_dropbox_sign import event_hash, parse_callback
from tests.docusign_api_server import connect_time
from tests.dropbox_sign_api_server import callback_body

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
KEY = "connect-key-one"
OLD_KEY = "connect-key-old"
API_KEY = "dropbox-sign-api-key"
ENVELOPE = "4f1c2d3e-0000-4000-8000-00000000abcd"


def connect_body(event: str = "recipient-completed", **data: Any) -> bytes:
    return json.dumps(
        {
            "event": event,
            "generatedDateTime": data.pop("at", connect_time(NOW)),
            "data": {"envelopeId": ENVELOPE, "recipientId": "2", **data},
        }
    ).encode()


def test_docusign_accepts_any_header_signed_with_any_current_key() -> None:
    body = connect_body()
    verify([KEY], {"X-DocuSign-Signature-1": sign(KEY, body)}, body)
    # During a rotation DocuSign signs with each key, one header each.
    rotated = {
        "X-DocuSign-Signature-1": sign(OLD_KEY, body),
        "x-docusign-signature-2": sign(KEY, body),
    }
    verify([KEY], rotated, body)
    verify([OLD_KEY, KEY], {"X-DocuSign-Signature-1": sign(KEY, body)}, body)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-DocuSign-Signature-1": sign("another key", connect_body())},
        {"X-DocuSign-Signature-1": sign(KEY, connect_body("recipient-declined"))},
        {"X-DocuSign-Signature": sign(KEY, connect_body())},
        {"X-DocuSign-Signature-1": "not base64 at all"},
    ],
    ids=["unsigned", "other-key", "other-body", "unnumbered-header", "garbage"],
)
def test_docusign_refuses_forged_deliveries(headers: dict[str, str]) -> None:
    with pytest.raises(WebhookRejected) as refused:
        verify([KEY], headers, connect_body())
    assert refused.value.status == 400
    assert refused.value.detail == "The delivery does not verify for this endpoint"


def test_docusign_without_a_key_verifies_nothing() -> None:
    body = connect_body()
    with pytest.raises(WebhookRejected):
        verify([], {"X-DocuSign-Signature-1": sign("", body)}, body)


def test_docusign_events_and_their_ids() -> None:
    (signed,) = parse_event(connect_body(), NOW)
    assert (signed.kind, signed.envelope_ref, signed.recipient_ref) == (
        EventKind.signed,
        ENVELOPE,
        "2",
    )
    assert signed.occurred_at == NOW
    (again,) = parse_event(connect_body(), NOW + timedelta(hours=1))
    assert again.event_id == signed.event_id
    (viewed,) = parse_event(connect_body("recipient-delivered"), NOW)
    assert viewed.kind == EventKind.viewed and viewed.event_id != signed.event_id
    (completed,) = parse_event(connect_body("envelope-completed"), NOW)
    assert completed.kind == EventKind.completed and completed.recipient_ref is None
    assert parse_event(connect_body("envelope-sent"), NOW) == []


@pytest.mark.parametrize(
    "moment",
    [NOW - DOCUSIGN_STALE - timedelta(seconds=1), NOW + timedelta(minutes=6)],
    ids=["stale", "future"],
)
def test_docusign_refuses_stale_and_future_deliveries(moment: datetime) -> None:
    with pytest.raises(WebhookRejected):
        parse_event(connect_body(at=connect_time(moment)), NOW)


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        json.dumps({"event": "recipient-completed", "generatedDateTime": "yesterday"}).encode(),
        connect_body(at="the day before"),
        json.dumps(
            {
                "event": "recipient-completed",
                "data": {"recipientId": "1"},
                "generatedDateTime": connect_time(NOW),
            }
        ).encode(),
        connect_body(recipientId=None),
    ],
    ids=["not-json", "list", "no-data", "bad-time", "no-envelope", "no-recipient"],
)
def test_docusign_refuses_malformed_deliveries(body: bytes) -> None:
    with pytest.raises(WebhookRejected):
        parse_event(body, NOW)


def callback(
    event_type: str = "signature_request_signed",
    *,
    at: datetime = NOW,
    key: str = API_KEY,
    related: str | None = "sig-2",
    hashed: str | None = None,
) -> tuple[dict[str, str], bytes]:
    event_time = str(int(at.timestamp()))
    payload = {
        "event": {
            "event_time": event_time,
            "event_type": event_type,
            "event_hash": hashed or event_hash(key, event_time, event_type),
            "event_metadata": {"related_signature_id": related},
        },
        "signature_request": {
            "signature_request_id": "req-1",
            "signatures": [{"signature_id": "sig-2", "decline_reason": "Wrong fee"}],
        },
    }
    content_type, body = callback_body(payload)
    return {"Content-Type": content_type}, body


def test_dropbox_sign_events() -> None:
    (signed,) = parse_callback(API_KEY, *callback(), NOW)
    assert (signed.kind, signed.envelope_ref, signed.recipient_ref) == (
        EventKind.signed,
        "req-1",
        "sig-2",
    )
    (declined,) = parse_callback(API_KEY, *callback("signature_request_declined"), NOW)
    assert declined.decline_reason == "Wrong fee"
    (done,) = parse_callback(API_KEY, *callback("signature_request_all_signed", related=None), NOW)
    assert done.kind == EventKind.completed and done.recipient_ref is None
    assert parse_callback(API_KEY, *callback("signature_request_sent"), NOW) == []
    assert parse_callback(API_KEY, *callback(), NOW)[0].event_id == signed.event_id


@pytest.mark.parametrize(
    "delivery",
    [
        callback(key="another key"),
        callback(hashed="0" * 64),
        callback(at=NOW - DROPBOX_STALE - timedelta(seconds=1)),
        callback(at=NOW + timedelta(minutes=6)),
    ],
    ids=["other-key", "other-hash", "stale", "future"],
)
def test_dropbox_sign_refuses_forged_and_stale_callbacks(
    delivery: tuple[dict[str, str], bytes],
) -> None:
    with pytest.raises(WebhookRejected):
        parse_callback(API_KEY, *delivery, NOW)


def test_dropbox_sign_refuses_malformed_callbacks() -> None:
    headers, body = callback()
    no_event = callback_body({"no": "event"})
    for bad_headers, bad_body in [
        ({"Content-Type": "application/json"}, body),
        (headers, b"garbage"),
        (headers, body.replace(b'name="json"', b'name="other"')),
        ({"Content-Type": no_event[0]}, no_event[1]),
        (headers, body.replace(b"{", b"[", 1)),
    ]:
        with pytest.raises(WebhookRejected):
            parse_callback(API_KEY, bad_headers, bad_body, NOW)
    with pytest.raises(WebhookRejected):
        parse_callback(API_KEY, *callback(related=None), NOW)
