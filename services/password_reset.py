"""Password recovery by email.

Asking for a reset always gets the same answer, whether or not the email belongs to anyone;
for each active user with a password under that email (one per firm) a random token is made,
stored as SHA-256, good once for ``TOKEN_TTL``, and emailed as a link. A user gets at most
one new token per ``RESEND_INTERVAL``, so the form cannot be used to flood a mailbox.
Using a token sets the new password (same policy as everywhere), spends every outstanding
reset token of the user, ends every login session, and clears the account's sign-in
throttle. Personal API tokens are left alone: they are deliberate, separately revocable
credentials. A user with two-factor still needs their second factor to sign in afterwards.
"""

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import SystemPurpose, scope_to_firm, system_scope
from core.errors import Conflict, NotFound
from core.principal import Principal
from core.security import hash_password, new_token
from models import Firm, PasswordResetToken, User
from providers.email import EmailProvider, OutgoingEmail
from services import audit, passwords, throttle
from services.auth import revoke_login_sessions
from services.identity_repository import RESET_TOKENS
from services.tokens import find_one_time_token

RESET_PREFIX = "ffr"
TOKEN_TTL = timedelta(minutes=30)
RESEND_INTERVAL = timedelta(minutes=1)
# The same email can exist in several firms; a request never mails more than this many.
MAX_ACCOUNTS = 5
LINK_INVALID = "This password reset link is not valid; request a new one"

log = logging.getLogger("firmflow.password_reset")


def _message(user: User, firm: Firm, token: str, token_id: str, public_url: str) -> OutgoingEmail:
    # The token travels in the fragment, which browsers never send to a server or a Referer.
    link = f"{public_url.rstrip('/')}/reset-password#token={token}"
    return OutgoingEmail(
        message_id=f"password-reset-{token_id}",
        to=user.email,
        subject=f"Reset your firmflow password for {firm.name}",
        text=(
            f"Someone asked to reset the password of {user.email} at {firm.name}.\n\n"
            f"To choose a new password, open this link within "
            f"{int(TOKEN_TTL.total_seconds() // 60)} minutes:\n\n{link}\n\n"
            "The link works once. If you did not ask for this, ignore this email: "
            "your password stays as it is.\n"
        ),
    )


async def request_reset(
    session: AsyncSession, *, email: str, public_url: str, request_id: str | None
) -> list[OutgoingEmail]:
    """Make reset tokens for ``email`` and return the messages to send after commit. The
    caller answers the same whatever this returns."""
    async with system_scope(session, SystemPurpose.password_reset):
        rows = (
            await session.execute(
                select(User, Firm)
                .join(Firm, Firm.id == User.firm_id)
                .where(
                    func.lower(User.email) == email.strip().lower(),
                    User.is_active.is_(True),
                    User.password_hash.is_not(None),
                )
                .order_by(User.created_at, User.id)
                .limit(MAX_ACCOUNTS)
            )
        ).all()
    messages: list[OutgoingEmail] = []
    now = datetime.now(UTC)
    for user, firm in rows:
        await scope_to_firm(session, firm.id)
        latest = await session.scalar(
            select(func.max(PasswordResetToken.created_at)).where(
                RESET_TOKENS.owned_by(firm.id), PasswordResetToken.user_id == user.id
            )
        )
        if latest is not None and now - latest < RESEND_INTERVAL:
            continue
        token, _, digest = new_token(RESET_PREFIX)
        reset = PasswordResetToken(
            firm_id=firm.id, user_id=user.id, token_hash=digest, expires_at=now + TOKEN_TTL
        )
        session.add(reset)
        await session.flush()
        await audit.record(
            session,
            _principal(user, request_id),
            action="user.password_reset_requested",
            record_type="user",
            record_id=user.id,
        )
        messages.append(_message(user, firm, token, str(reset.id), public_url))
    return messages


async def deliver(provider: EmailProvider, messages: list[OutgoingEmail]) -> None:
    """Send after the response: a failure is logged, never shown (the answer was the same)."""
    for message in messages:
        try:
            await provider.send(message)
        except Exception:
            log.exception("password reset email failed", extra={"message_id": message.message_id})


def _principal(user: User, request_id: str | None) -> Principal:
    return Principal(
        firm_id=user.firm_id,
        user_id=user.id,
        role=user.role,
        credential="password_reset",
        request_id=request_id,
    )


async def confirm_reset(
    session: AsyncSession, *, token: str, password: str, request_id: str | None
) -> None:
    passwords.ensure_acceptable(password)
    found = await find_one_time_token(
        session, PasswordResetToken, token, SystemPurpose.password_reset
    )
    if found is None:
        raise NotFound(LINK_INVALID)
    reset, user, _ = found
    now = datetime.now(UTC)
    if reset.used_at is not None:
        raise Conflict("This password reset link has already been used; request a new one")
    if reset.expires_at <= now or not user.is_active:
        raise Conflict("This password reset link has expired; request a new one")
    await scope_to_firm(session, user.firm_id)
    user.password_hash = await asyncio.to_thread(hash_password, password)
    await session.execute(
        update(PasswordResetToken)
        .where(
            RESET_TOKENS.owned_by(user.firm_id),
            PasswordResetToken.user_id == user.id,
            PasswordResetToken.used_at.is_(None),
        )
        .values(used_at=now)
    )
    revoked = await revoke_login_sessions(session, user)
    await throttle.clear(session, throttle.account_key(user.email))
    await audit.record(
        session,
        _principal(user, request_id),
        action="user.password_reset",
        record_type="user",
        record_id=user.id,
        after={"sessions_revoked": revoked},
    )
