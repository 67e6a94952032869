"""Dropbox Sign (formerly HelloSign): API v3 signature requests and event callbacks.

Sending is ``POST /v3/signature_request/send`` as multipart/form-data: ``files[i]``,
``signers[i][name|email_address|order]``, ``cc_email_addresses[j]``,
``form_fields_per_document`` (JSON: each field with its ``document_index``, 1-based
``page``, ``signer`` index and ``x``/``y``/``width``/``height`` in points from the page's
top-left corner), ``metadata[firmflow_envelope_id]`` and ``expires_at`` (Unix seconds).
Authentication is HTTP basic with the API key as the user name. Dropbox Sign signs strictly
one signer after another: our routing groups become that order (parallel signers of one
group sign one after the other), approvers are signers with no fields (Dropbox Sign adds a
signature page for them), and it sends its own reminders (the envelope's policy is ours
only for the built-in provider). It has no idempotency key and no lookup by metadata: a
send retried after a lost answer creates a second request (the first one's events name a
request we do not know, and are acknowledged and ignored).

Callbacks are multipart/form-data with one field ``json``: ``event`` {``event_time``,
``event_type``, ``event_hash``, ``event_metadata.related_signature_id``} and the
``signature_request``. ``event_hash`` is hex HMAC-SHA256 keyed with the API key over
``event_time + event_type``, compared in constant time. That hash does not cover the rest
of the body, so a callback is only as fresh as ``STALE_AFTER`` allows (Dropbox Sign retries
a failed callback for a few hours) and each is recorded once by its event id. The answer
must be the body ``Hello API Event Received`` (``ACKNOWLEDGEMENT``)."""

import base64
import email.parser
import email.policy
import hashlib
import hmac
import io
import json
import secrets
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pypdf import PdfReader, PdfWriter
from pypdf.errors import PdfReadError

from providers.esignature import (
    CALL_TIMEOUT,
    ENVELOPE_ID_FIELD,
    FUTURE_SKEW_SECONDS,
    MAX_DOCUMENT_BYTES,
    SEND_TIMEOUT,
    EnvelopeRequest,
    EnvelopeStatus,
    EsignatureProviderRefused,
    EventKind,
    ProviderEvent,
    RecipientState,
    RecipientStatus,
    Role,
    SentEnvelope,
    WebhookRejected,
    call,
    signer_order,
)
from providers.http import HttpClient, HttpRequest

NAME = "Dropbox Sign"
ACKNOWLEDGEMENT = "Hello API Event Received"
STALE_AFTER = timedelta(hours=24)
_MAX_TITLE = 255

_EVENTS = {
    "signature_request_viewed": EventKind.viewed,
    "signature_request_signed": EventKind.signed,
    "signature_request_declined": EventKind.declined,
    "signature_request_all_signed": EventKind.completed,
    "signature_request_canceled": EventKind.voided,
}
_STATES = {
    "signed": RecipientState.signed,
    "declined": RecipientState.declined,
}


def event_hash(api_key: str, event_time: str, event_type: str) -> str:
    """The ``event_hash`` of a callback, as Dropbox Sign computes it."""
    message = (event_time + event_type).encode()
    return hmac.new(api_key.encode(), message, hashlib.sha256).hexdigest()


def _form_fields(request: EnvelopeRequest, signers: list[uuid.UUID]) -> list[dict[str, Any]]:
    fields = []
    for index, field in enumerate(request.fields):
        width, height = request.documents[field.document_index].page_sizes[field.page - 1]
        fields.append(
            {
                "api_id": f"field_{index}",
                "name": field.label or field.kind,
                "type": field.kind,
                "document_index": field.document_index,
                "page": field.page,
                "signer": signers.index(field.recipient_id),
                "x": round(field.x * width),
                "y": round(field.y * height),
                "width": round(field.width * width),
                "height": round(field.height * height),
                "required": field.required,
            }
        )
    return fields


def send_form(request: EnvelopeRequest) -> tuple[list[tuple[str, str]], list[uuid.UUID]]:
    """The form's text parts, and our signers' ids in the order they are numbered."""
    ordered = signer_order(request.recipients)
    signers = [r for r in ordered if r.role != Role.cc]
    form = [
        ("title", request.title[:_MAX_TITLE]),
        ("subject", request.title[:_MAX_TITLE]),
        ("message", request.message),
        (f"metadata[{ENVELOPE_ID_FIELD}]", str(request.envelope_id)),
        ("expires_at", str(int(request.expires_at.timestamp()))),
    ]
    for index, signer in enumerate(signers):
        form += [
            (f"signers[{index}][name]", signer.name),
            (f"signers[{index}][email_address]", signer.email),
            (f"signers[{index}][order]", str(index)),
        ]
    for index, copy in enumerate(r for r in ordered if r.role == Role.cc):
        form.append((f"cc_email_addresses[{index}]", copy.email))
    ids = [signer.id for signer in signers]
    form.append(("form_fields_per_document", json.dumps(_form_fields(request, ids))))
    return form, ids


def multipart(
    form: Sequence[tuple[str, str]], files: Sequence[tuple[str, str, bytes]]
) -> tuple[str, bytes]:
    """(content type, body) of a multipart/form-data request."""
    boundary = secrets.token_hex(16)
    parts: list[bytes] = []
    for name, value in form:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value.encode()
            + b"\r\n"
        )
    for name, filename, data in files:
        safe = filename.replace('"', "").replace("\r", "").replace("\n", "")
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{safe}"\r\nContent-Type: application/pdf\r\n\r\n'.encode()
            + data
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return f"multipart/form-data; boundary={boundary}", b"".join(parts)


def split_documents(merged: bytes, page_counts: Sequence[int]) -> list[bytes]:
    """Dropbox Sign serves every document of a request as one PDF, followed by its audit
    trail page(s): each document's pages, the trail appended to each."""
    try:
        reader = PdfReader(io.BytesIO(merged))
        pages = list(reader.pages)
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise EsignatureProviderRefused("Dropbox Sign served a signed file that is no PDF") from exc
    if len(pages) < sum(page_counts):
        raise EsignatureProviderRefused("Dropbox Sign served fewer pages than were sent")
    if len(page_counts) == 1:
        return [merged]
    trail = pages[sum(page_counts) :]
    documents, start = [], 0
    for count in page_counts:
        writer = PdfWriter()
        for page in [*pages[start : start + count], *trail]:
            writer.add_page(page)
        out = io.BytesIO()
        writer.write(out)
        documents.append(out.getvalue())
        start += count
    return documents


class DropboxSignProvider:
    # event_hash covers the event's time and type, not the request or signer it names.
    events_need_confirmation = True

    def __init__(
        self, client: HttpClient, *, base_url: str, api_key: str, test_mode: bool = False
    ) -> None:
        self._client = client
        # Dropbox Sign's test mode: free of charge, not legally binding (a sandbox account).
        self._test_mode = test_mode
        self._api = f"{base_url}/v3"
        token = base64.b64encode(f"{api_key}:".encode()).decode()
        self._headers = {"Authorization": f"Basic {token}", "Accept": "application/json"}
        self._api_key = api_key

    async def _request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        deadline: float = CALL_TIMEOUT,
        ok: Sequence[int] = (200,),
    ) -> Any:
        request = HttpRequest(
            method, self._api + path, {**self._headers, **(headers or {})}, body, deadline
        )
        return (await call(self._client, NAME, request, ok=ok)).body

    async def create_and_send(self, request: EnvelopeRequest) -> SentEnvelope:
        form, signers = send_form(request)
        if self._test_mode:
            form.append(("test_mode", "1"))
        files = [
            (f"files[{index}]", document.name, document.data)
            for index, document in enumerate(request.documents)
        ]
        content_type, body = multipart(form, files)
        answer = await self._request(
            "POST",
            "/signature_request/send",
            body=body,
            headers={"Content-Type": content_type},
            deadline=SEND_TIMEOUT,
        )
        signature_request = answer.get("signature_request") if isinstance(answer, dict) else None
        if not isinstance(signature_request, dict):
            raise EsignatureProviderRefused("Dropbox Sign answered without a signature request")
        refs: dict[uuid.UUID, str] = {}
        for signature in signature_request.get("signatures") or []:
            order = signature.get("order")
            if isinstance(order, int) and 0 <= order < len(signers):
                refs[signers[order]] = str(signature["signature_id"])
        if len(refs) != len(signers):
            raise EsignatureProviderRefused("Dropbox Sign answered without every signer")
        return SentEnvelope(
            provider_ref=str(signature_request["signature_request_id"]), recipient_refs=refs
        )

    async def void(self, provider_ref: str, reason: str) -> None:
        # No reason travels: Dropbox Sign's cancel takes none. Gone (410) is cancelled.
        await self._request("POST", f"/signature_request/cancel/{provider_ref}", ok=(200, 410))

    async def fetch_status(self, provider_ref: str) -> EnvelopeStatus:
        answer = await self._request("GET", f"/signature_request/{provider_ref}", ok=(200, 410))
        if not isinstance(answer, dict) or "signature_request" not in answer:
            return EnvelopeStatus(provider_ref=provider_ref, completed=False, voided=True)
        request = answer["signature_request"]
        states = []
        for signature in request.get("signatures") or []:
            state = _STATES.get(str(signature.get("status_code")))
            if state is None:
                state = RecipientState.viewed if signature.get("last_viewed_at") else None
            states.append(
                RecipientStatus(
                    recipient_ref=str(signature.get("signature_id")),
                    state=state or RecipientState.sent,
                    decline_reason=signature.get("decline_reason"),
                )
            )
        return EnvelopeStatus(
            provider_ref=provider_ref,
            completed=bool(request.get("is_complete")),
            voided=False,
            recipients=tuple(states),
        )

    async def fetch_signed_documents(
        self, provider_ref: str, page_counts: Sequence[int]
    ) -> list[bytes]:
        request = HttpRequest(
            "GET",
            f"{self._api}/signature_request/files/{provider_ref}?file_type=pdf",
            {**self._headers, "Accept": "application/pdf"},
            timeout=SEND_TIMEOUT,
            binary=True,
        )
        data = (await call(self._client, NAME, request)).body
        if not isinstance(data, bytes) or not data.startswith(b"%PDF"):
            raise EsignatureProviderRefused("Dropbox Sign served a signed file that is no PDF")
        if len(data) > MAX_DOCUMENT_BYTES:
            raise EsignatureProviderRefused("Dropbox Sign served a signed file too large")
        return split_documents(data, page_counts)

    def parse_webhook(
        self, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> list[ProviderEvent]:
        return parse_callback(self._api_key, headers, body, now)


def callback_json(headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    """The ``json`` field of a multipart/form-data callback, parsed."""
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise WebhookRejected("not multipart/form-data")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    for part in message.iter_parts() if message.is_multipart() else []:
        if part.get_param("name", header="content-disposition") == "json":
            payload = part.get_payload(decode=True)
            try:
                parsed = json.loads(payload) if isinstance(payload, bytes) else None
            except (ValueError, RecursionError):
                raise WebhookRejected("the json field is not JSON") from None
            if isinstance(parsed, dict):
                return parsed
    raise WebhookRejected("no json field")


def parse_callback(
    api_key: str, headers: Mapping[str, str], body: bytes, now: datetime
) -> list[ProviderEvent]:
    payload = callback_json(headers, body)
    event = payload.get("event")
    if not isinstance(event, dict):
        raise WebhookRejected("no event")
    event_time, event_type, given = (
        _text(event, k) for k in ("event_time", "event_type", "event_hash")
    )
    if not hmac.compare_digest(event_hash(api_key, event_time, event_type), given.lower()):
        raise WebhookRejected("event_hash does not match")
    if not event_time.isdigit() or len(event_time) > 12:
        raise WebhookRejected("event_time unreadable")
    occurred = datetime.fromtimestamp(int(event_time), UTC)
    if occurred < now - STALE_AFTER or occurred > now + timedelta(seconds=FUTURE_SKEW_SECONDS):
        raise WebhookRejected("event_time outside the window")
    kind = _EVENTS.get(event_type)
    if kind is None:
        return []
    request = payload.get("signature_request")
    ref = request.get("signature_request_id") if isinstance(request, dict) else None
    if not isinstance(ref, str) or not ref:
        raise WebhookRejected("signature_request_id missing")
    metadata = event.get("event_metadata")
    related = metadata.get("related_signature_id") if isinstance(metadata, dict) else None
    if kind in (EventKind.completed, EventKind.voided):
        related = None
    elif not isinstance(related, str) or not related:
        raise WebhookRejected("related_signature_id missing")
    return [
        ProviderEvent(
            event_id=f"dropbox_sign:{given.lower()}:{related or ''}"[:255],
            envelope_ref=ref,
            recipient_ref=related,
            kind=kind,
            occurred_at=occurred,
            decline_reason=_decline_reason(request, related),
        )
    ]


def _text(event: dict[str, Any], name: str) -> str:
    value = event.get(name)
    if not isinstance(value, str) or not value:
        raise WebhookRejected(f"{name} missing")
    return value


def _decline_reason(request: Any, signature_id: str | None) -> str | None:
    for signature in request.get("signatures") or [] if isinstance(request, dict) else []:
        if isinstance(signature, dict) and signature.get("signature_id") == signature_id:
            reason = signature.get("decline_reason")
            return reason if isinstance(reason, str) and reason else None
    return None
