"""Authentication: resolving a bearer token to a principal, logging in with email and
password, logging out, and who the caller is."""

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import cast

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import SystemPurpose, scope_to_firm, system_scope
from core.errors import BadRequest, NotFound, Unauthorized
from core.principal import Principal
from core.security import (
    API_TOKEN_PREFIX,
    SESSION_PREFIX,
    hash_password,
    hash_token,
    password_needs_rehash,
    verify_password,
)
from models import ApiToken, Firm, LoginSession, User
from services import audit
from services.tokens import issue_login_session

BAD_CREDENTIALS = "Incorrect email or password"
FIRM_REQUIRED = (
    "This email address can sign in to more than one firm; "
    "repeat the login with firm_slug set to the firm you want"
)
# Each candidate costs one argon2 verification; beyond this many the caller must say
# which firm they mean, so nobody can make a login arbitrarily slow by signing up firms.
MAX_LOGIN_CANDIDATES = 5

# "Last used" is for people judging whether a token is still in use; a minute's precision is
# plenty, and it spares every authenticated read a row update.
LAST_USED_PRECISION = timedelta(minutes=1)


@dataclass(frozen=True)
class IssuedSession:
    """A new login session; ``token`` exists only here and in the response."""

    user: User
    firm: Firm
    login_session: LoginSession
    token: str
    expires_at: datetime


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
    if credential.last_used_at is None or now - credential.last_used_at >= LAST_USED_PRECISION:
        await session.execute(
            update(model).where(model.id == credential.id).values(last_used_at=now)
        )
    return Principal(
        firm_id=user.firm_id,
        user_id=user.id,
        role=user.role,
        credential="session" if model is LoginSession else "api_token",
        credential_id=credential.id,
        request_id=request_id,
        client_id=user.client_id,
    )


async def start_session(
    session: AsyncSession,
    user: User,
    firm: Firm,
    *,
    ttl: timedelta,
    method: str,
    request_id: str | None,
) -> IssuedSession:
    """Issue a login session for ``user`` (already in a transaction scoped to its firm)."""
    now = datetime.now(UTC)
    expires_at = now + ttl
    login_session, token = await issue_login_session(session, user, expires_at=expires_at)
    user.last_login_at = now
    principal = Principal(
        firm_id=user.firm_id,
        user_id=user.id,
        role=user.role,
        credential="session",
        credential_id=login_session.id,
        request_id=request_id,
    )
    await audit.record(
        session,
        principal,
        action="auth.login",
        record_type="login_session",
        record_id=login_session.id,
        after={"method": method, "expires_at": expires_at.isoformat()},
    )
    return IssuedSession(
        user=user, firm=firm, login_session=login_session, token=token, expires_at=expires_at
    )


async def login(
    session: AsyncSession,
    *,
    email: str,
    password: str,
    firm_slug: str | None,
    ttl: timedelta,
    request_id: str | None,
) -> IssuedSession:
    """Email and password to a login session. The email is looked up across firms; an
    unknown email still costs an argon2 verification (against a dummy hash) and fails with
    exactly the same problem as a wrong password."""
    query = (
        select(User, Firm)
        .join(Firm, Firm.id == User.firm_id)
        .where(
            func.lower(User.email) == email.lower(),
            User.is_active.is_(True),
            User.password_hash.is_not(None),
        )
        .order_by(User.created_at, User.id)
        .limit(MAX_LOGIN_CANDIDATES + 1)
    )
    if firm_slug is not None:
        query = query.where(Firm.slug == firm_slug)
    async with system_scope(session, SystemPurpose.login):
        candidates = [(row[0], row[1]) for row in (await session.execute(query)).all()]
    if len(candidates) > MAX_LOGIN_CANDIDATES:
        await asyncio.to_thread(verify_password, None, password)
        raise Unauthorized(FIRM_REQUIRED)
    if not candidates:
        await asyncio.to_thread(verify_password, None, password)
        raise Unauthorized(BAD_CREDENTIALS)
    matches = [
        (user, firm)
        for user, firm in candidates
        if await asyncio.to_thread(verify_password, user.password_hash, password)
    ]
    if not matches:
        raise Unauthorized(BAD_CREDENTIALS)
    if len(matches) > 1:
        raise Unauthorized(FIRM_REQUIRED)
    user, firm = matches[0]
    await scope_to_firm(session, firm.id)
    if user.password_hash is not None and password_needs_rehash(user.password_hash):
        user.password_hash = await asyncio.to_thread(hash_password, password)
    return await start_session(
        session, user, firm, ttl=ttl, method="password", request_id=request_id
    )


async def logout(session: AsyncSession, principal: Principal) -> None:
    """End the login session the caller authenticated with."""
    if principal.credential != "session" or principal.credential_id is None:
        raise BadRequest(
            "Logout ends a login session, and this request used an API token; "
            "revoke API tokens with DELETE /v1/api-tokens/{token_id}"
        )
    await session.execute(
        update(LoginSession)
        .where(
            LoginSession.firm_id == principal.firm_id,
            LoginSession.id == principal.credential_id,
        )
        .values(revoked_at=datetime.now(UTC))
    )
    await audit.record(
        session,
        principal,
        action="auth.logout",
        record_type="login_session",
        record_id=principal.credential_id,
    )


async def current_user(session: AsyncSession, principal: Principal) -> tuple[User, Firm]:
    row = (
        await session.execute(
            select(User, Firm)
            .join(Firm, Firm.id == User.firm_id)
            .where(User.firm_id == principal.firm_id, User.id == principal.user_id)
        )
    ).one_or_none()
    if row is None:
        raise NotFound("The signed-in user no longer exists")
    return row[0], row[1]
