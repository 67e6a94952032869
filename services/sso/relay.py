"""RelayState: a random single-use token given to the browser twice, in the redirect to the
IdP and in an HttpOnly cookie. The IdP posts it back; it must equal this browser's cookie,
name a request we sent, be unused and at most ten minutes old. Stored only as SHA-256."""

import secrets
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.security import constant_time_equals, hash_token
from models import SamlRequest
from services.sso.errors import SsoRefused

RELAY_STATE_TTL = timedelta(minutes=10)
# 32 random bytes; 43 characters, well inside SAML's 80-byte RelayState limit.
RELAY_STATE_BYTES = 32


def new_relay_state() -> str:
    return secrets.token_urlsafe(RELAY_STATE_BYTES)


async def remember_request(
    session: AsyncSession, firm_id: uuid.UUID, *, relay_state: str, request_id: str
) -> SamlRequest:
    now = datetime.now(UTC)
    # Abandoned logins would pile up; each new one clears its firm's expired rows.
    await session.execute(
        delete(SamlRequest).where(SamlRequest.firm_id == firm_id, SamlRequest.expires_at < now)
    )
    row = SamlRequest(
        firm_id=firm_id,
        relay_state_hash=hash_token(relay_state),
        request_id=request_id,
        expires_at=now + RELAY_STATE_TTL,
    )
    session.add(row)
    await session.flush()
    return row


async def consume_request(
    session: AsyncSession,
    firm_id: uuid.UUID,
    *,
    posted: str | None,
    cookie: str | None,
) -> SamlRequest:
    """The request this browser started, marked used; refused unless every check holds."""
    if not posted:
        raise SsoRefused("no RelayState in the POST")
    if not cookie:
        raise SsoRefused("no RelayState cookie in this browser")
    if not constant_time_equals(posted, cookie):
        raise SsoRefused("RelayState differs from this browser's cookie")
    row = await session.scalar(
        select(SamlRequest)
        .where(SamlRequest.firm_id == firm_id, SamlRequest.relay_state_hash == hash_token(posted))
        .with_for_update()
    )
    if row is None:
        raise SsoRefused("unknown RelayState")
    if row.consumed_at is not None:
        raise SsoRefused("RelayState already used")
    now = datetime.now(UTC)
    if row.expires_at <= now:
        raise SsoRefused("RelayState expired")
    row.consumed_at = now
    await session.flush()
    return row
