"""Inbound webhooks: each automation's secret URL ``/v1/inbound-webhooks/<token>`` (also
served at its first path, ``/v1/hooks/<token>``, which is what a URL is issued as), and the
Standard Webhooks (https://www.standardwebhooks.com/) verification of what arrives there.

The URL token routes a request to its automation: only its SHA-256 is stored, and it is
shown once, when it is made or rotated. With a signing secret (the default) a request must
also carry an HMAC-SHA256 signature over ``id.timestamp.body`` made within five minutes, so
a leaked URL alone starts nothing and a captured delivery cannot be replayed later. The
secret is kept encrypted (core.crypto) because verifying needs it back. Every refused
signature gets the same 401; the precise reason goes to the log with the request id.

The verification is written here rather than taken from the ``standardwebhooks`` package:
it is a few lines of ``hmac``, and the package would bring a dependency for them.
"""

import base64
import hashlib
import hmac
import json
import logging
import re
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.crypto import Cipher
from core.db import SystemPurpose, scope_to_firm, system_scope
from core.errors import (
    BadRequest,
    Conflict,
    NotFound,
    Unauthorized,
    UnsupportedMediaType,
)
from core.principal import Principal
from core.security import INBOUND_WEBHOOK_PREFIX, hash_token, new_token
from models import Automation, AutomationRun, AutomationStatus, InboundWebhook, RunTrigger
from services.automations.automations import get_automation, record_change
from services.automations.repository import INBOUND_WEBHOOKS
from services.automations.runs import check_payload, start_run

log = logging.getLogger("firmflow.webhooks")

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
# Standard Webhooks: a delivery signed further than this from our clock is refused.
TOLERANCE_SECONDS = 5 * 60
# A sender lists one signature per active secret; more than a few is not a rotation.
_MAX_SIGNATURES = 16
# Printable ASCII without spaces: the id becomes part of the run's dedupe key.
_WEBHOOK_ID = re.compile(r"[\x21-\x7e]{1,256}")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


class SignatureRefused(Unauthorized):
    title = "Webhook signature refused"
    slug = "webhook-signature"


class InvalidPayload(BadRequest):
    title = "Invalid webhook payload"
    slug = "invalid-webhook-payload"


_REFUSED = (
    "This webhook URL needs a valid Standard Webhooks signature: the headers webhook-id, "
    "webhook-timestamp (within 5 minutes of now) and webhook-signature"
)
_UNKNOWN = "No webhook with this URL"


@dataclass(frozen=True)
class IssuedInboundWebhook:
    """An inbound webhook as just made or rotated: the only time its token and secret are
    known."""

    inbound_webhook: InboundWebhook
    token: str
    signing_secret: str | None


def new_signing_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The ``v1,<base64>`` signature of one delivery, as a sender writes it."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    content = f"{webhook_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()


def _refuse(reason: str) -> SignatureRefused:
    log.info("webhook signature refused: %s", reason)
    return SignatureRefused(_REFUSED)


def verify(secret: str, headers: Mapping[str, str], body: bytes, *, now: datetime) -> str:
    """The webhook id of a correctly signed, fresh delivery; ``SignatureRefused`` otherwise.
    Any one of the space-separated signatures may match (senders rotating their secret
    send one per secret)."""
    webhook_id = headers.get("webhook-id")
    timestamp = headers.get("webhook-timestamp")
    signatures = headers.get("webhook-signature")
    if webhook_id is None or timestamp is None or signatures is None:
        raise _refuse("a Standard Webhooks header is missing")
    if not _WEBHOOK_ID.fullmatch(webhook_id) or not _TIMESTAMP.fullmatch(timestamp):
        raise _refuse("webhook-id or webhook-timestamp is malformed")
    if abs(now.timestamp() - int(timestamp)) > TOLERANCE_SECONDS:
        raise _refuse("webhook-timestamp is outside the tolerance")
    expected = sign(secret, webhook_id, int(timestamp), body).encode()
    offered = signatures.split(" ")[:_MAX_SIGNATURES]
    if not any(hmac.compare_digest(expected, candidate.encode()) for candidate in offered):
        raise _refuse("no signature matches")
    return webhook_id


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return True
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def parse_payload(body: bytes, content_type: str | None) -> Any:
    """The JSON value of a delivery (``{}`` for an empty body)."""
    if not _is_json(content_type):
        raise UnsupportedMediaType("A webhook body must be JSON (Content-Type: application/json)")
    if not body.strip():
        return {}
    try:
        payload = json.loads(body, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise InvalidPayload("The body is not valid JSON") from exc
    # The rules every trigger's payload follows (storable, bounded), in one place.
    check_payload(payload)
    return payload


def _summary(inbound: InboundWebhook) -> dict[str, Any]:
    # What the audit trail keeps: the public prefix, never the token or the secret.
    return {"prefix": inbound.token_prefix, "signing": inbound.signing_secret_encrypted is not None}


async def _inbound_webhook_of(
    session: AsyncSession, principal: Principal, automation_id: uuid.UUID
) -> InboundWebhook | None:
    return await INBOUND_WEBHOOKS.find(
        session, principal, InboundWebhook.automation_id == automation_id
    )


async def issue_inbound_webhook(
    session: AsyncSession,
    principal: Principal,
    cipher: Cipher,
    automation_id: uuid.UUID,
    *,
    signing: bool,
) -> IssuedInboundWebhook:
    """Give the automation a new inbound URL (and signing secret when ``signing``). An
    existing one is rotated: its token stops working when this transaction commits."""
    # The automation's row lock serialises two concurrent first creations.
    automation = await get_automation(session, principal, automation_id, lock=True)
    if automation.status == AutomationStatus.archived:
        raise Conflict("This automation is archived and can no longer be triggered")
    token, prefix, digest = new_token(INBOUND_WEBHOOK_PREFIX)
    secret = new_signing_secret() if signing else None
    encrypted = cipher.encrypt(secret) if secret is not None else None
    inbound = await _inbound_webhook_of(session, principal, automation.id)
    before = None
    if inbound is None:
        inbound = InboundWebhook(firm_id=principal.firm_id, automation_id=automation.id)
        session.add(inbound)
    else:
        before = _summary(inbound)
        inbound.rotated_at = datetime.now(UTC)
    inbound.token_hash = digest
    inbound.token_prefix = prefix
    inbound.signing_secret_encrypted = encrypted
    await session.flush()
    await session.refresh(inbound, ["created_at", "updated_at"])
    # The audit actions keep the names the trail already holds.
    action = "hook_created" if before is None else "hook_rotated"
    await record_change(
        session, principal, automation, action, before=before, after=_summary(inbound)
    )
    return IssuedInboundWebhook(inbound_webhook=inbound, token=token, signing_secret=secret)


async def get_inbound_webhook(
    session: AsyncSession, principal: Principal, automation_id: uuid.UUID
) -> InboundWebhook:
    automation = await get_automation(session, principal, automation_id)
    inbound = await _inbound_webhook_of(session, principal, automation.id)
    if inbound is None:
        raise NotFound("This automation has no webhook URL")
    return inbound


async def delete_inbound_webhook(
    session: AsyncSession, principal: Principal, automation_id: uuid.UUID
) -> None:
    automation = await get_automation(session, principal, automation_id, lock=True)
    inbound = await _inbound_webhook_of(session, principal, automation.id)
    if inbound is None:
        raise NotFound("This automation has no webhook URL")
    before = _summary(inbound)
    await session.delete(inbound)
    await session.flush()
    await record_change(session, principal, automation, "hook_deleted", before=before)


async def find_inbound_webhook(
    session: AsyncSession, token: str
) -> tuple[InboundWebhook, Automation]:
    """The inbound webhook behind a URL token and its automation, in one query across firms
    (the token names its firm); the rest of the transaction is scoped to that firm. Unknown
    tokens are a 404."""
    async with system_scope(session, SystemPurpose.webhook_lookup):
        found = (
            await session.execute(
                select(InboundWebhook, Automation)
                .join(
                    Automation,
                    and_(
                        Automation.id == InboundWebhook.automation_id,
                        Automation.firm_id == InboundWebhook.firm_id,
                    ),
                )
                .where(InboundWebhook.token_hash == hash_token(token))
            )
        ).one_or_none()
    if found is None:
        raise NotFound(_UNKNOWN)
    inbound: InboundWebhook = found[0]
    automation: Automation = found[1]
    await scope_to_firm(session, inbound.firm_id)
    return inbound, automation


async def receive(
    session: AsyncSession,
    cipher: Cipher,
    token: str,
    *,
    body: bytes,
    headers: Mapping[str, str],
    request_id: str | None = None,
) -> tuple[AutomationRun, bool]:
    """Start a run of the automation behind ``token`` with the delivery's JSON as its
    trigger payload; returns the run and whether it is new. A repeated ``webhook-id``
    (signed or not) returns the run the first delivery started."""
    inbound, automation = await find_inbound_webhook(session, token)
    webhook_id = headers.get("webhook-id")
    if inbound.signing_secret_encrypted is not None:
        secret = cipher.decrypt(inbound.signing_secret_encrypted)
        webhook_id = verify(secret, headers, body, now=datetime.now(UTC))
    elif webhook_id is not None and not _WEBHOOK_ID.fullmatch(webhook_id):
        raise BadRequest("webhook-id must be 1 to 256 printable ASCII characters, no spaces")
    payload = parse_payload(body, headers.get("content-type"))
    return await start_run(
        session,
        Principal.system(inbound.firm_id, request_id),
        automation,
        payload=payload,
        trigger=RunTrigger.webhook,
        dedupe_key=None if webhook_id is None else f"webhook:{webhook_id}",
    )
