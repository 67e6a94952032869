"""The one-time code a recipient verifies before the documents open, when the sender asked
for one (``EnvelopeRecipient.require_code``): a second factor proving that whoever holds
the link also reads the recipient's mailbox.

A code is six digits from ``secrets``, good for ``CODE_TTL`` and ``MAX_ATTEMPTS`` wrong
tries; it is stored only as an HMAC (keyed under its own HKDF label, with the recipient's
id in the message, so the same digits of two recipients differ and a leaked table yields
nothing a million guesses would not). A new code replaces the previous one. Sending is
throttled twice: at most one code per ``RESEND_INTERVAL`` per recipient, and every send
counts in the sign-in throttle (services/throttle.py) under the recipient's own key, which
blocks further sends for 30 seconds after the fifth, doubling from there up to an hour.
The email goes out after the transaction commits, as password resets do."""

import logging
import math
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from core.config import Settings
from core.errors import AppError, Conflict, Unprocessable
from core.link_tokens import link_keys
from core.security import constant_time_equals, mac
from models import EnvelopeEventKind, EnvelopeRecipient
from providers.email import EmailProvider, OutgoingEmail
from services import throttle
from services.esignature import trail
from services.esignature.signing import (
    SOURCE,
    Signing,
    SigningView,
    Visitor,
    open_signing,
    require_open,
    require_pending,
    view_of,
)
from services.esignature.signing_links import SigningLinksUnavailable

CODE_TTL = timedelta(minutes=10)
MAX_ATTEMPTS = 5
RESEND_INTERVAL = timedelta(minutes=1)
_PURPOSE = "firmflow envelope signing code v1"

log = logging.getLogger("firmflow.esignature.codes")


class CodeNotNeeded(Conflict):
    title = "No code needed"
    slug = "signing-code-not-needed"


class NoCode(Conflict):
    title = "No code pending"
    slug = "signing-code-missing"


class CodeThrottled(AppError):
    status = 429
    title = "Too many requests"
    slug = "signing-code-throttled"


class CountedCodeFailure(AppError):
    """A wrong code, counted in the current transaction: the API answers it without
    rolling back, so the count survives the refusal."""


class WrongCode(CountedCodeFailure, Unprocessable):
    title = "Wrong code"
    slug = "signing-code-wrong"


class CodeUsedUp(CountedCodeFailure):
    status = 429
    title = "Too many wrong codes"
    slug = "signing-code-used-up"


@dataclass(frozen=True)
class CodeSent:
    sent_to: str
    expires_at: datetime
    message: OutgoingEmail


def _keys(settings: Settings) -> tuple[bytes, ...]:
    keys = link_keys(settings, _PURPOSE)
    if not keys:
        raise SigningLinksUnavailable("This server has no encryption key configured")
    return keys


def _digest(key: bytes, recipient_id: uuid.UUID, code: str) -> str:
    return mac(key, f"{recipient_id}|{code}")


def masked(email: str) -> str:
    """``a***@example.com``: enough for the recipient to recognise, little for anyone else."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def _throttle_key(recipient_id: uuid.UUID) -> list[str]:
    return [f"signing-code:{recipient_id}"]


async def _require_sendable(session: AsyncSession, signing: Signing, now: datetime) -> None:
    recipient = signing.recipient
    if not recipient.require_code:
        raise CodeNotNeeded("This envelope needs no code")
    if recipient.code_verified_at is not None:
        raise CodeNotNeeded("Your code is already verified")
    if recipient.code_expires_at is not None:
        next_send = recipient.code_expires_at - CODE_TTL + RESEND_INTERVAL
        if next_send > now:
            seconds = max(1, math.ceil((next_send - now).total_seconds()))
            raise CodeThrottled(
                f"A code was sent moments ago; ask again in {seconds} seconds",
                headers={"Retry-After": str(seconds)},
            )
    try:
        await throttle.check(session, _throttle_key(recipient.id))
    except throttle.TooManyAttempts as blocked:
        raise CodeThrottled(
            "Too many codes were asked for; try again later", headers=blocked.headers
        ) from None


async def send_code(
    session: AsyncSession,
    settings: Settings,
    recipient_id: uuid.UUID,
    token: str | None,
    visitor: Visitor,
) -> CodeSent:
    """Make a new code (replacing any earlier one); the email to send after commit."""
    signing = await open_signing(session, settings, recipient_id, token, lock=True)
    require_open(signing)
    require_pending(signing)
    now = datetime.now(UTC)
    await _require_sendable(session, signing, now)
    recipient = signing.recipient
    code = f"{secrets.randbelow(10**6):06d}"
    recipient.code_hash = _digest(_keys(settings)[0], recipient.id, code)
    recipient.code_expires_at = now + CODE_TTL
    recipient.code_attempts = 0
    await trail.record_event(
        session,
        signing.firm.id,
        signing.envelope.id,
        EnvelopeEventKind.code_sent,
        recipient=recipient,
        ip_address=visitor.ip_address,
        user_agent=visitor.user_agent,
        source=SOURCE,
    )
    await throttle.record_failure(session, _throttle_key(recipient.id))
    await session.flush()
    minutes = int(CODE_TTL.total_seconds() // 60)
    message = OutgoingEmail(
        message_id=f"signing-code-{uuid.uuid4()}",
        to=recipient.email,
        subject=f"Your code to open “{signing.envelope.title}”",
        text=(
            f"Your code to open the documents {signing.firm.name} sent you for signature "
            f"(“{signing.envelope.title}”) is:\n\n    {code}\n\n"
            f"It works for {minutes} minutes. If you did not ask for it, ignore this "
            "email: nobody can open the documents without it.\n"
        ),
    )
    return CodeSent(sent_to=masked(recipient.email), expires_at=now + CODE_TTL, message=message)


async def deliver(provider: EmailProvider, message: OutgoingEmail) -> None:
    """Send after the response: a failure is logged (the recipient asks again)."""
    try:
        await provider.send(message)
    except Exception:
        log.exception("signing code email failed", extra={"message_id": message.message_id})


async def verify_code(
    session: AsyncSession,
    settings: Settings,
    recipient_id: uuid.UUID,
    token: str | None,
    visitor: Visitor,
    *,
    code: str,
) -> SigningView:
    """Check the code; a wrong one counts (``CountedCodeFailure``), the fifth uses it up."""
    signing = await open_signing(session, settings, recipient_id, token, lock=True)
    require_open(signing)
    require_pending(signing)
    recipient = signing.recipient
    if not recipient.require_code:
        raise CodeNotNeeded("This envelope needs no code")
    if recipient.code_verified_at is not None:
        return await view_of(session, signing)
    now = datetime.now(UTC)
    if recipient.code_hash is None or recipient.code_expires_at is None:
        raise NoCode("No code is pending; ask for a new one")
    if recipient.code_expires_at <= now:
        raise NoCode("The code has expired; ask for a new one")
    matched = False
    for key in _keys(settings):
        matched |= constant_time_equals(_digest(key, recipient.id, code), recipient.code_hash)
    if not matched:
        await _count_wrong(session, recipient)
    recipient.code_verified_at = now
    recipient.code_hash = None
    recipient.code_expires_at = None
    recipient.code_attempts = 0
    await trail.record_event(
        session,
        signing.firm.id,
        signing.envelope.id,
        EnvelopeEventKind.code_verified,
        recipient=recipient,
        ip_address=visitor.ip_address,
        user_agent=visitor.user_agent,
        source=SOURCE,
    )
    await throttle.clear(session, _throttle_key(recipient.id)[0])
    await session.flush()
    return await view_of(session, signing)


async def _count_wrong(session: AsyncSession, recipient: EnvelopeRecipient) -> None:
    recipient.code_attempts += 1
    left = MAX_ATTEMPTS - recipient.code_attempts
    if left <= 0:
        recipient.code_hash = None
        recipient.code_expires_at = None
    await session.flush()
    if left <= 0:
        raise CodeUsedUp("Too many wrong codes; ask for a new one")
    detail = f"The code is not correct; {left} {'try' if left == 1 else 'tries'} left"
    raise WrongCode(detail, errors=[{"pointer": "/code", "detail": detail}])
