"""Outside e-signature providers behind one protocol: DocuSign (eSignature REST API v2.1)
and Dropbox Sign (API v3) adapters, built per firm from its connection
(services/esignature/connections.build_provider).

An ``EnvelopeRequest`` is provider-neutral: documents (name, PDF bytes, page sizes in
points), recipients (our ids, routing order), fields placed by FRACTIONS of the page from
its top-left corner; each adapter converts them to its own units. Every call goes through
the shared, SSRF-vetted ``providers.http`` pool with a deadline; a provider that cannot be
reached, is down or rate-limits is an ``EsignatureProviderUnavailable`` (retry later), one
that refuses the firm's credentials or our request an ``EsignatureProviderRefused``
(retrying cannot heal it). Their own words stay in the log.

``parse_webhook`` verifies a delivery (a forged or stale one is refused), and turns it into
``ProviderEvent`` rows; a replay is recognised later by its ``event_id`` (the envelope's
trail records each provider event once)."""

import enum
import ipaddress
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

from core.errors import AppError, BadRequest
from providers.http import HttpClient, HttpError, HttpPool, HttpRequest, HttpResult

log = logging.getLogger("firmflow.esignature")

# Our envelope's id travels with the provider's envelope (DocuSign custom field, Dropbox
# Sign metadata): support staff at the provider can find ours, and DocuSign's lookup by it
# makes a retried send find the envelope the first attempt created.
ENVELOPE_ID_FIELD = "firmflow_envelope_id"
# Sending uploads every document; fetching downloads them.
SEND_TIMEOUT = 60.0
CALL_TIMEOUT = 20.0
# The largest signed PDF accepted from a provider (the document library's own ceiling).
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024
# A delivery dated this far in the future is refused (clock skew is a few seconds).
FUTURE_SKEW_SECONDS = 300


class EsignatureProviderUnavailable(AppError):
    """The provider gave no answer a person can act on: unreachable, down, rate limited.
    Retrying later may succeed."""

    status = 502
    title = "E-signature provider unavailable"
    slug = "esignature-provider-unavailable"


class EsignatureProviderRefused(EsignatureProviderUnavailable):
    """The provider refused the firm's credentials or the request: fix the connection (or
    the envelope), then try again; retrying as is cannot succeed."""

    title = "E-signature provider refused the request"
    slug = "esignature-provider-refused"


class WebhookRejected(BadRequest):
    """A delivery that is forged, stale or malformed. One generic answer for all of them;
    the reason goes to the log only."""

    title = "Webhook refused"
    slug = "esignature-webhook-refused"

    def __init__(self, reason: str) -> None:
        super().__init__("The delivery does not verify for this endpoint")
        self.reason = reason


class Role(enum.StrEnum):
    signer = "signer"
    approver = "approver"
    cc = "cc"


class EventKind(enum.StrEnum):
    viewed = "viewed"
    signed = "signed"
    declined = "declined"
    completed = "completed"
    voided = "voided"


class RecipientState(enum.StrEnum):
    sent = "sent"
    viewed = "viewed"
    signed = "signed"
    declined = "declined"


@dataclass(frozen=True)
class DocumentSpec:
    name: str
    data: bytes
    # [[width, height], ...] in points, one per page.
    page_sizes: Sequence[Sequence[float]]


@dataclass(frozen=True)
class RecipientSpec:
    id: uuid.UUID
    name: str
    email: str
    role: Role
    routing_order: int


@dataclass(frozen=True)
class FieldSpec:
    recipient_id: uuid.UUID
    # Index into EnvelopeRequest.documents.
    document_index: int
    kind: str
    page: int
    # Fractions of the page's width and height, from its top-left corner.
    x: float
    y: float
    width: float
    height: float
    required: bool = True
    label: str | None = None


@dataclass(frozen=True)
class ReminderPolicy:
    first_days: int
    every_days: int
    max_count: int


@dataclass(frozen=True)
class EnvelopeRequest:
    envelope_id: uuid.UUID
    title: str
    message: str
    documents: Sequence[DocumentSpec]
    recipients: Sequence[RecipientSpec]
    fields: Sequence[FieldSpec]
    expiry_days: int
    reminders: ReminderPolicy
    # When our envelope was created: the earliest the provider's can be (DocuSign's
    # lookup of an earlier attempt searches from there).
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class SentEnvelope:
    provider_ref: str
    # The provider's id of each recipient, by our recipient id.
    recipient_refs: Mapping[uuid.UUID, str]


@dataclass(frozen=True)
class RecipientStatus:
    recipient_ref: str
    state: RecipientState
    decline_reason: str | None = None


@dataclass(frozen=True)
class EnvelopeStatus:
    provider_ref: str
    completed: bool
    voided: bool
    recipients: Sequence[RecipientStatus] = field(default_factory=tuple)


@dataclass(frozen=True)
class ProviderEvent:
    # Stable across redeliveries of the same event: the trail records it once.
    event_id: str
    envelope_ref: str
    # None for envelope-level events (completed, voided).
    recipient_ref: str | None
    kind: EventKind
    occurred_at: datetime
    decline_reason: str | None = None


class EsignatureProvider(Protocol):
    # True when a delivery's signature does not cover the events it carries (Dropbox Sign's
    # event_hash covers only the time and type): each event is then confirmed with the
    # provider's API before it is applied.
    events_need_confirmation: bool

    async def create_and_send(self, request: EnvelopeRequest) -> SentEnvelope: ...

    async def void(self, provider_ref: str, reason: str) -> None: ...

    async def fetch_status(self, provider_ref: str) -> EnvelopeStatus: ...

    async def fetch_signed_documents(
        self, provider_ref: str, page_counts: Sequence[int]
    ) -> list[bytes]: ...

    def parse_webhook(
        self, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> list[ProviderEvent]: ...


@dataclass(frozen=True)
class Connection:
    """A firm's account at a provider, its secrets decrypted from the vault: DocuSign
    ``access_token`` and ``hmac_keys``; Dropbox Sign ``api_key``."""

    provider: str
    base_url: str
    account_id: str | None
    secrets: Mapping[str, Any]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_base_url(url: str) -> str:
    """``url`` without a trailing slash when it is an https URL, or plain http on a loopback
    address (a fake provider in development and tests); ``ValueError`` otherwise. Any
    other internal address is refused when called (providers.http)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host or parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError("must be a plain https URL such as https://demo.docusign.net")
    if parts.scheme == "https" or (parts.scheme == "http" and _is_loopback(host)):
        return url.rstrip("/")
    raise ValueError("must use https (plain http only on a loopback address)")


def http_pool() -> HttpPool:
    """The pool the adapters call through (one per worker or API process): its size cap
    lets a signed PDF through, where automations' default cap is 1 MiB."""
    return HttpPool(max_bytes=MAX_DOCUMENT_BYTES)


def client_for(pool: HttpPool, base_url: str) -> HttpClient:
    """A client of the pool that may reach ``base_url``: a loopback base (validated when the
    connection was saved) is allowed by name; every other internal address stays refused."""
    host = (urlsplit(base_url).hostname or "").lower()
    allowed = [host] if urlsplit(base_url).scheme == "http" and _is_loopback(host) else []
    return pool(allowed)


def secret(connection: Connection, name: str) -> str:
    value = connection.secrets.get(name)
    if not isinstance(value, str) or not value:
        raise EsignatureProviderRefused(
            f"The connection's credential has no {name}; store it in the credential's JSON"
        )
    return value


async def call(
    client: HttpClient, provider: str, request: HttpRequest, *, ok: Sequence[int] = (200, 201)
) -> HttpResult:
    """One request; a transport failure or an answer outside ``ok`` as the provider errors
    above (the answer's status and the provider's error code logged, never a header)."""
    try:
        result = await client.request(request)
    except HttpError as exc:
        log.warning("%s call failed: %s", provider, type(exc).__name__)
        raise EsignatureProviderUnavailable(
            f"{provider} could not be reached just now; retry in a minute"
        ) from exc
    if result.status in ok:
        return result
    log.warning("%s answered %s (%s)", provider, result.status, _error_code(result.body))
    if result.status == 429 or result.status >= 500:
        raise EsignatureProviderUnavailable(
            f"{provider} could not handle the request just now; retry in a minute"
        )
    if result.status in (401, 403):
        raise EsignatureProviderRefused(
            f"{provider} refused this firm's credentials; update the connection, then retry"
        )
    raise EsignatureProviderRefused(f"{provider} refused the request ({result.status})")


def _error_code(body: Any) -> str | None:
    """The provider's name for its error: DocuSign's errorCode, Dropbox Sign's error_name,
    OAuth's error. Never its message, which may quote what was sent."""
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    if isinstance(error, dict):
        error = error.get("error_name")
    code = body.get("errorCode") or error
    return str(code)[:100] if code is not None else None


def hmac_keys(connection: Connection) -> list[str]:
    """DocuSign Connect's HMAC keys: ``hmac_keys`` (a list, several while one rotates) or
    one ``hmac_key``."""
    keys = connection.secrets.get("hmac_keys")
    if isinstance(keys, list):
        return [key for key in keys if isinstance(key, str) and key]
    single = connection.secrets.get("hmac_key")
    return [single] if isinstance(single, str) and single else []


def signer_order(recipients: Sequence[RecipientSpec]) -> list[RecipientSpec]:
    """Recipients in signing order (routing order, then as listed): the order both adapters
    number them in."""
    return sorted(recipients, key=lambda r: r.routing_order)
