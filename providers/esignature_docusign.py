"""DocuSign: eSignature REST API v2.1 and Connect webhooks.

Sending is ``POST /restapi/v2.1/accounts/{accountId}/envelopes`` with the documents in
base64, ``signers`` / ``certifiedDeliveries`` (approvers: they must open and acknowledge,
no tabs) / ``carbonCopies`` by ``routingOrder``, tabs in points from the page's top-left
corner (DocuSign lays a page out at 72 units per inch, so a PDF point is one unit), the
expiry and reminders in ``notification`` and our envelope id as a hidden text custom field.
DocuSign has no idempotency key: before creating, the adapter looks for an envelope
carrying our id in that custom field (``GET .../envelopes?custom_field=``), so a send
retried after a lost answer finds the first one instead of sending twice. Recipient ids
are ours to choose: "1".."n" in signing order.

Connect deliveries (JSON event model: ``event``, ``generatedDateTime``, ``data.envelopeId``,
``data.recipientId``) are signed ``X-DocuSign-Signature-1``..``-N`` = base64(HMAC-SHA256(key,
body)), one header per active key (DocuSign signs with each while a key rotates): any
header matching any of the connection's keys verifies, compared in constant time. A
delivery generated more than ``STALE_AFTER`` ago is refused: Connect retries a failed
delivery for days, and seven days bound how long a captured delivery could be replayed
(a replay inside the window is recognised by its event id, recorded once)."""

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

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
    FieldSpec,
    ProviderEvent,
    RecipientSpec,
    RecipientState,
    RecipientStatus,
    Role,
    SentEnvelope,
    WebhookRejected,
    call,
    signer_order,
)
from providers.esignature_docusign_auth import DocuSignAuth
from providers.http import HttpClient, HttpRequest

NAME = "DocuSign"
STALE_AFTER = timedelta(days=7)
SIGNATURE_HEADER = "x-docusign-signature-"
# Connect signs with at most this many keys at once.
_MAX_SIGNATURES = 100
_MAX_SUBJECT = 100

_TAB_LISTS = {
    "signature": "signHereTabs",
    "initials": "initialHereTabs",
    "date_signed": "dateSignedTabs",
    "text": "textTabs",
    "checkbox": "checkboxTabs",
}
_EVENTS = {
    "recipient-delivered": EventKind.viewed,
    "recipient-completed": EventKind.signed,
    "recipient-declined": EventKind.declined,
    "envelope-completed": EventKind.completed,
    "envelope-voided": EventKind.voided,
}
_STATES = {
    "delivered": RecipientState.viewed,
    "completed": RecipientState.signed,
    "signed": RecipientState.signed,
    "declined": RecipientState.declined,
}


def sign(key: str, body: bytes) -> str:
    """A Connect signature header's value, as DocuSign computes it."""
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def _tab(field: FieldSpec, request: EnvelopeRequest) -> dict[str, Any]:
    width, height = request.documents[field.document_index].page_sizes[field.page - 1]
    tab: dict[str, Any] = {
        "documentId": str(field.document_index + 1),
        "pageNumber": str(field.page),
        "xPosition": str(round(field.x * width)),
        "yPosition": str(round(field.y * height)),
        "width": str(round(field.width * width)),
        "height": str(round(field.height * height)),
        "tabLabel": field.label or field.kind,
    }
    if field.kind in ("text", "checkbox"):
        tab["required"] = "true" if field.required else "false"
    elif field.kind != "date_signed" and not field.required:
        tab["optional"] = "true"
    return tab


def _recipient(
    recipient: RecipientSpec, ref: str, request: EnvelopeRequest
) -> tuple[str, dict[str, Any]]:
    body: dict[str, Any] = {
        "recipientId": ref,
        "name": recipient.name,
        "email": recipient.email,
        "routingOrder": str(recipient.routing_order),
    }
    if recipient.role == Role.cc:
        return "carbonCopies", body
    if recipient.role == Role.approver:
        return "certifiedDeliveries", body
    tabs: dict[str, list[dict[str, Any]]] = {}
    for field in request.fields:
        if field.recipient_id == recipient.id:
            tabs.setdefault(_TAB_LISTS[field.kind], []).append(_tab(field, request))
    if tabs:
        body["tabs"] = tabs
    return "signers", body


def recipient_refs(request: EnvelopeRequest) -> dict[uuid.UUID, str]:
    return {r.id: str(index + 1) for index, r in enumerate(signer_order(request.recipients))}


def envelope_body(request: EnvelopeRequest) -> dict[str, Any]:
    refs = recipient_refs(request)
    recipients: dict[str, list[dict[str, Any]]] = {}
    for recipient in signer_order(request.recipients):
        kind, body = _recipient(recipient, refs[recipient.id], request)
        recipients.setdefault(kind, []).append(body)
    reminders = request.reminders
    return {
        "emailSubject": request.title[:_MAX_SUBJECT],
        "emailBlurb": request.message,
        "status": "sent",
        "documents": [
            {
                "documentId": str(index + 1),
                "name": document.name,
                "fileExtension": "pdf",
                "documentBase64": base64.b64encode(document.data).decode(),
            }
            for index, document in enumerate(request.documents)
        ],
        "recipients": recipients,
        "notification": {
            "useAccountDefaults": "false",
            "expirations": {"expireEnabled": "true", "expireAfter": str(request.expiry_days)},
            "reminders": {
                "reminderEnabled": "true" if reminders.max_count > 0 else "false",
                "reminderDelay": str(reminders.first_days),
                "reminderFrequency": str(reminders.every_days),
            },
        },
        "customFields": {
            "textCustomFields": [
                {"name": ENVELOPE_ID_FIELD, "value": str(request.envelope_id), "show": "false"}
            ]
        },
    }


class DocuSignProvider:
    # The HMAC covers the whole body.
    events_need_confirmation = False

    def __init__(
        self,
        client: HttpClient,
        *,
        base_url: str,
        account_id: str,
        auth: DocuSignAuth,
        hmac_keys: Sequence[str],
    ) -> None:
        self._client = client
        self._api = f"{base_url}/restapi/v2.1/accounts/{account_id}"
        self._auth = auth
        self._keys = list(hmac_keys)

    async def _headers(self, accept: str = "application/json") -> dict[str, str]:
        return {"Authorization": f"Bearer {await self._auth.token(self._client)}", "Accept": accept}

    async def _request(
        self, method: str, path: str, *, body: Any = None, deadline: float = CALL_TIMEOUT
    ) -> Any:
        request = HttpRequest(method, self._api + path, await self._headers(), body, deadline)
        return (await call(self._client, NAME, request)).body

    async def _existing(self, request: EnvelopeRequest) -> str | None:
        """The envelope an earlier attempt created for ours, if any (not voided)."""
        since = (request.created_at - timedelta(days=1)).astimezone(UTC)
        query = urlencode(
            {
                "from_date": since.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "custom_field": f"{ENVELOPE_ID_FIELD}={request.envelope_id}",
            }
        )
        found = await self._request("GET", f"/envelopes?{query}")
        for envelope in found.get("envelopes") or [] if isinstance(found, dict) else []:
            if envelope.get("status") != "voided" and envelope.get("envelopeId"):
                return str(envelope["envelopeId"])
        return None

    async def create_and_send(self, request: EnvelopeRequest) -> SentEnvelope:
        ref = await self._existing(request)
        if ref is None:
            created = await self._request(
                "POST", "/envelopes", body=envelope_body(request), deadline=SEND_TIMEOUT
            )
            if not isinstance(created, dict) or not created.get("envelopeId"):
                raise EsignatureProviderRefused("DocuSign answered without an envelope id")
            ref = str(created["envelopeId"])
        return SentEnvelope(provider_ref=ref, recipient_refs=recipient_refs(request))

    async def void(self, provider_ref: str, reason: str) -> None:
        status = await self._request("GET", f"/envelopes/{provider_ref}")
        if isinstance(status, dict) and status.get("status") in ("voided", "completed"):
            return
        await self._request(
            "PUT",
            f"/envelopes/{provider_ref}",
            body={"status": "voided", "voidedReason": reason[:200]},
        )

    async def fetch_status(self, provider_ref: str) -> EnvelopeStatus:
        envelope = await self._request("GET", f"/envelopes/{provider_ref}")
        listed = await self._request("GET", f"/envelopes/{provider_ref}/recipients")
        if not isinstance(listed, dict) or not isinstance(envelope, dict):
            raise EsignatureProviderRefused("DocuSign answered the status without its fields")
        states: list[RecipientStatus] = []
        for group in ("signers", "certifiedDeliveries", "carbonCopies"):
            for recipient in listed.get(group) or []:
                state = _STATES.get(str(recipient.get("status")), RecipientState.sent)
                states.append(
                    RecipientStatus(
                        recipient_ref=str(recipient.get("recipientId")),
                        state=state,
                        decline_reason=recipient.get("declinedReason"),
                    )
                )
        status = envelope.get("status")
        return EnvelopeStatus(
            provider_ref=provider_ref,
            completed=status == "completed",
            voided=status == "voided",
            recipients=tuple(states),
        )

    async def fetch_signed_documents(
        self, provider_ref: str, page_counts: Sequence[int]
    ) -> list[bytes]:
        documents: list[bytes] = []
        for index in range(len(page_counts)):
            request = HttpRequest(
                "GET",
                f"{self._api}/envelopes/{provider_ref}/documents/{index + 1}",
                await self._headers("application/pdf"),
                timeout=SEND_TIMEOUT,
                binary=True,
            )
            data = (await call(self._client, NAME, request)).body
            if not isinstance(data, bytes) or not data.startswith(b"%PDF"):
                raise EsignatureProviderRefused("DocuSign served a signed document that is no PDF")
            if len(data) > MAX_DOCUMENT_BYTES:
                raise EsignatureProviderRefused("DocuSign served a signed document too large")
            documents.append(data)
        return documents

    def parse_webhook(
        self, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> list[ProviderEvent]:
        verify(self._keys, headers, body)
        return parse_event(body, now)


def verify(keys: Sequence[str], headers: Mapping[str, str], body: bytes) -> None:
    lowered = {name.lower(): value for name, value in headers.items()}
    signatures = [
        value
        for name, value in sorted(lowered.items())
        if name.startswith(SIGNATURE_HEADER) and name[len(SIGNATURE_HEADER) :].isdigit()
    ][:_MAX_SIGNATURES]
    if not signatures:
        raise WebhookRejected("no X-DocuSign-Signature header")
    if not keys:
        raise WebhookRejected("the connection has no Connect HMAC key")
    matched = False
    for key in keys:
        expected = sign(key, body).encode()
        # No early exit: the time taken does not tell which key or header matched.
        for candidate in signatures:
            matched |= hmac.compare_digest(expected, candidate.strip().encode())
    if not matched:
        raise WebhookRejected("no signature matches a Connect key")


def _occurred(value: Any) -> datetime:
    if not isinstance(value, str):
        raise WebhookRejected("generatedDateTime missing")
    try:
        # DocuSign writes up to seven fractional digits; Python reads six.
        head, dot, fraction = value.removesuffix("Z").partition(".")
        moment = datetime.fromisoformat(head + (dot + fraction[:6] if dot else ""))
    except ValueError:
        raise WebhookRejected("generatedDateTime unreadable") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_event(body: bytes, now: datetime) -> list[ProviderEvent]:
    """The events of a verified delivery; freshness checked on ``generatedDateTime``."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        raise WebhookRejected("body is not JSON") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("data"), dict):
        raise WebhookRejected("no event data")
    occurred = _occurred(payload.get("generatedDateTime"))
    if occurred < now - STALE_AFTER or occurred > now + timedelta(seconds=FUTURE_SKEW_SECONDS):
        raise WebhookRejected("generatedDateTime outside the window")
    event, data = payload.get("event"), payload["data"]
    envelope_ref = data.get("envelopeId")
    if not isinstance(event, str) or not isinstance(envelope_ref, str) or not envelope_ref:
        raise WebhookRejected("event or envelopeId missing")
    kind = _EVENTS.get(event)
    if kind is None:
        return []
    recipient_ref = data.get("recipientId")
    if kind in (EventKind.completed, EventKind.voided):
        recipient_ref = None
    elif not isinstance(recipient_ref, str | int) or not str(recipient_ref):
        raise WebhookRejected("recipientId missing")
    identity = f"{event}|{envelope_ref}|{recipient_ref}|{payload['generatedDateTime']}"
    return [
        ProviderEvent(
            event_id="docusign:" + hashlib.sha256(identity.encode()).hexdigest(),
            envelope_ref=envelope_ref,
            recipient_ref=None if recipient_ref is None else str(recipient_ref),
            kind=kind,
            occurred_at=occurred,
        )
    ]
