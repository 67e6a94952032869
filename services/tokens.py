"""Issuing bearer credentials: login sessions and personal API tokens."""

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from core.security import API_TOKEN_PREFIX, SESSION_PREFIX, new_token
from models import ApiToken, LoginSession, User


async def issue_login_session(
    session: AsyncSession, user: User, ttl: timedelta
) -> tuple[LoginSession, str]:
    token, prefix, digest = new_token(SESSION_PREFIX)
    login = LoginSession(
        firm_id=user.firm_id,
        user_id=user.id,
        token_hash=digest,
        prefix=prefix,
        expires_at=datetime.now(UTC) + ttl,
    )
    session.add(login)
    await session.flush()
    return login, token


async def issue_api_token(
    session: AsyncSession, user: User, name: str, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    token, prefix, digest = new_token(API_TOKEN_PREFIX)
    api_token = ApiToken(
        firm_id=user.firm_id,
        user_id=user.id,
        name=name,
        token_hash=digest,
        prefix=prefix,
        expires_at=expires_at,
    )
    session.add(api_token)
    await session.flush()
    return api_token, token
