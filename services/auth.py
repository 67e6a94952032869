"""Bearer-token authentication: resolve a login session or API token to a principal."""

from datetime import UTC, datetime
from typing import cast

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import SystemPurpose, scope_to_firm, system_scope
from core.errors import Unauthorized
from core.principal import Principal
from core.security import API_TOKEN_PREFIX, SESSION_PREFIX, hash_token
from models import ApiToken, LoginSession, User


async def authenticate(session: AsyncSession, token: str, request_id: str | None) -> Principal:
    """Look the token up across firms (it names its own firm), then scope the transaction
    to that firm. Every failure is the same 401 so a caller learns nothing."""
    kind = token.split("_", 1)[0]
    model: type[LoginSession] | type[ApiToken]
    if kind == SESSION_PREFIX:
        model = LoginSession
    elif kind == API_TOKEN_PREFIX:
        model = ApiToken
    else:
        raise Unauthorized("Invalid or expired credentials")
    now = datetime.now(UTC)
    async with system_scope(session, SystemPurpose.authenticate):
        row = (
            await session.execute(
                select(model, User)
                .join(User, User.id == model.user_id)
                .where(model.token_hash == hash_token(token))
            )
        ).one_or_none()
    if row is None:
        raise Unauthorized("Invalid or expired credentials")
    credential = cast(LoginSession | ApiToken, row[0])
    user: User = row[1]
    if (
        credential.revoked_at is not None
        or (credential.expires_at is not None and credential.expires_at <= now)
        or not user.is_active
    ):
        raise Unauthorized("Invalid or expired credentials")
    await scope_to_firm(session, user.firm_id)
    await session.execute(update(model).where(model.id == credential.id).values(last_used_at=now))
    return Principal(
        firm_id=user.firm_id,
        user_id=user.id,
        role=user.role,
        credential="session" if model is LoginSession else "api_token",
        credential_id=credential.id,
        request_id=request_id,
    )
