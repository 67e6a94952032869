"""Signing links: the address a recipient's emails give them,
``<public_url>/sign/<recipient id>?t=<token>``, which opens their part of the envelope
without an account. The web page sends the token to the API in the ``X-Signing-Token``
header, never in a path or query, so it stays out of access logs.

The token is ``<firm>.<link version>.<expiry>.<mac>`` (core/link_tokens.py): HMAC-SHA256
over ``firm id|recipient id|link version|expiry`` under the signing links' own HKDF label,
so a pay token or a file link can never pass for one. The expiry is the envelope's
``expires_at``: the link lasts as long as the envelope may be signed, and a re-send of an
expired envelope mails fresh links. The link version is the recipient's ``link_version``
when the link was made; correcting a recipient's email bumps it, so the links sent to the
wrong address stop working.

A token not ours, or ours for another recipient (or, through the MAC, another firm) is a
403; one we signed that has expired a 410. Telling the two apart reveals nothing: only a
token with a valid MAC learns that it has expired."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from core.config import Settings
from core.errors import AppError, Forbidden
from core.link_tokens import link_keys, seal, unseal
from models import EnvelopeRecipient

_PURPOSE = "firmflow envelope signing link v1"


class SigningLinkInvalid(Forbidden):
    title = "Invalid signing link"
    slug = "signing-link-invalid"


class SigningLinkExpired(AppError):
    status = 410
    title = "Signing link expired"
    slug = "signing-link-expired"


class SigningLinksUnavailable(AppError):
    status = 503
    title = "Service unavailable"
    slug = "signing-links-unavailable"


@dataclass(frozen=True)
class LinkClaims:
    firm_id: uuid.UUID
    recipient_id: uuid.UUID
    link_version: int
    expires_at: datetime


def signing_url(settings: Settings, recipient: EnvelopeRecipient, expires_at: datetime) -> str:
    """The recipient's link at their current ``link_version``, valid until ``expires_at``
    (the envelope's). A server without an encryption key cannot sign one: that is an
    operator's error, never a link that opens nothing."""
    keys = link_keys(settings, _PURPOSE)
    if not keys:
        raise SigningLinksUnavailable(
            "This server has no encryption key configured (FIRMFLOW_ENCRYPTION_KEYS), "
            "so it cannot sign signing links"
        )
    expiry = int(expires_at.timestamp())
    token = seal(keys, recipient.firm_id, recipient.id, [recipient.link_version, expiry])
    return f"{settings.public_url.rstrip('/')}/sign/{recipient.id}?t={token}"


def read_token(
    settings: Settings,
    token: str | None,
    *,
    recipient_id: uuid.UUID,
    now: datetime | None = None,
) -> LinkClaims:
    """The claims of a token this server signed for ``recipient_id``: SigningLinkInvalid
    (403) for anything else, SigningLinkExpired (410) once past its expiry. The caller
    still checks the version against the recipient's row (``require_current``)."""
    opened = unseal(link_keys(settings, _PURPOSE), token, recipient_id, count=2)
    if opened is None:
        raise SigningLinkInvalid("This signing link is not valid; ask the sender for a new one")
    firm_id, (link_version, expiry) = opened
    expires_at = datetime.fromtimestamp(expiry, UTC)
    if expires_at <= (now or datetime.now(UTC)):
        raise SigningLinkExpired("This signing link has expired; ask the sender for a new one")
    return LinkClaims(
        firm_id=firm_id, recipient_id=recipient_id, link_version=link_version, expires_at=expires_at
    )


def require_current(claims: LinkClaims, recipient: EnvelopeRecipient) -> None:
    """Refuse (403) a link made before the recipient's email was corrected."""
    if claims.link_version != recipient.link_version:
        raise SigningLinkInvalid(
            "This signing link was replaced by a newer one; use the latest email you received"
        )
