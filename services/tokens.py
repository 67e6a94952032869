"""Bearer credentials: issuing login sessions, and personal API tokens (create, list,
revoke). Everyone manages their own API tokens; owners and admins see and revoke every
token of their firm."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import SystemPurpose, system_scope
from core.errors import Conflict, Forbidden, NotFound, Unprocessable
from core.pagination import Page, PageParams, keyset, to_page
from core.permissions import Permission, roles_with
from core.principal import Principal
from core.security import API_TOKEN_PREFIX, SESSION_PREFIX, hash_token, new_token
from models import (
    ApiToken,
    Firm,
    Invitation,
    LoginSession,
    MfaChallenge,
    PasswordResetToken,
    User,
)
from services import audit
from services.idempotency import IdempotentRequest, StoredResponse, claim, fingerprint, remember
from services.identity_repository import API_TOKENS, USERS

_SEES_ALL_TOKENS = roles_with(Permission.api_tokens_all)


Credential = TypeVar("Credential", LoginSession, ApiToken, Invitation)


async def issue_credential(
    session: AsyncSession,
    model: type[Credential],
    kind: str,
    user: User,
    *,
    expires_at: datetime | None,
    **fields: Any,
) -> tuple[Credential, str]:
    """Create a credential of ``model`` for ``user``; returns it and its secret, which is
    shown this once: only its SHA-256 is stored."""
    token, prefix, digest = new_token(kind)
    credential = model(
        firm_id=user.firm_id,
        user_id=user.id,
        token_hash=digest,
        prefix=prefix,
        expires_at=expires_at,
        **fields,
    )
    session.add(credential)
    await session.flush()
    return credential, token


OneTimeToken = TypeVar("OneTimeToken", Invitation, PasswordResetToken, MfaChallenge)


async def find_one_time_token(
    session: AsyncSession, model: type[OneTimeToken], token: str, purpose: SystemPurpose
) -> tuple[OneTimeToken, User, Firm] | None:
    """The row behind a one-time secret, with its user and firm, locked against a concurrent
    use. Looked up across firms (the token names its own firm) under ``purpose``."""
    async with system_scope(session, purpose):
        row = (
            await session.execute(
                select(model, User, Firm)
                .join(User, User.id == model.user_id)
                .join(Firm, Firm.id == model.firm_id)
                .where(model.token_hash == hash_token(token))
                .with_for_update(of=model)
            )
        ).one_or_none()
    return None if row is None else (row[0], row[1], row[2])


async def issue_login_session(
    session: AsyncSession, user: User, *, expires_at: datetime
) -> tuple[LoginSession, str]:
    return await issue_credential(
        session, LoginSession, SESSION_PREFIX, user, expires_at=expires_at
    )


@dataclass(frozen=True)
class IssuedSession:
    """A new login session; ``token`` exists only here and in the response."""

    user: User
    firm: Firm
    login_session: LoginSession
    token: str
    expires_at: datetime


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


async def issue_api_token(
    session: AsyncSession, user: User, name: str, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    return await issue_credential(
        session, ApiToken, API_TOKEN_PREFIX, user, expires_at=expires_at, name=name
    )


def _own(principal: Principal) -> list[ColumnElement[bool]]:
    """Without the role to see every token of the firm, a principal sees its own."""
    return [] if principal.role in _SEES_ALL_TOKENS else [ApiToken.user_id == principal.user_id]


def _visible(principal: Principal) -> Select[ApiToken]:
    return API_TOKENS.select(principal).where(*_own(principal))


async def create_api_token(
    session: AsyncSession,
    principal: Principal,
    *,
    name: str,
    expires_at: datetime | None,
    idempotency: IdempotentRequest | None = None,
) -> tuple[ApiToken, str]:
    """A personal API token of the caller; the secret is returned here and never again.

    An idempotency key is honoured without storing the response, because the response
    holds the secret: a repeat creates nothing and is a 409 naming the first token."""
    if principal.user_id is None:
        raise Forbidden("API tokens belong to users; the system cannot own one")
    if expires_at is not None and expires_at <= datetime.now(UTC):
        raise Unprocessable(
            "The expiry must be in the future",
            errors=[{"detail": "must be in the future", "pointer": "/expires_at"}],
        )
    key = idempotency.key if idempotency is not None else None
    if idempotency is not None and key is not None:
        request_hash = fingerprint(
            idempotency.path,
            {"name": name, "expires_at": expires_at.isoformat() if expires_at else None},
        )
        first = await claim(
            session, principal, route=idempotency.route, key=key, request_hash=request_hash
        )
        if first is not None:
            raise Conflict(
                f"This Idempotency-Key already created API token {first.body['id']} "
                f"({first.body['prefix']}...), whose secret was shown only once; if it was "
                "lost, revoke that token and create a new one"
            )
    user = await USERS.get(session, principal, principal.user_id)
    if user is None:
        raise NotFound("The signed-in user no longer exists")
    api_token, token = await issue_api_token(session, user, name, expires_at)
    if idempotency is not None and key is not None:
        created = {"id": str(api_token.id), "prefix": api_token.prefix}
        await remember(
            session,
            principal,
            route=idempotency.route,
            key=key,
            response=StoredResponse(status=201, body=created),
        )
    await audit.record(
        session,
        principal,
        action="api_token.created",
        record_type="api_token",
        record_id=api_token.id,
        after={
            "name": name,
            "expires_at": expires_at.isoformat() if expires_at is not None else None,
        },
    )
    return api_token, token


async def list_api_tokens(
    session: AsyncSession,
    principal: Principal,
    *,
    user_id: uuid.UUID | None,
    page: PageParams,
) -> Page[ApiToken]:
    """Newest first. Members see their own tokens; owners and admins every token, or one
    user's with ``user_id``."""
    if (
        user_id is not None
        and user_id != principal.user_id
        and principal.role not in _SEES_ALL_TOKENS
    ):
        raise Forbidden("You can list only your own API tokens")
    query = _visible(principal)
    if user_id is not None:
        query = query.where(ApiToken.user_id == user_id)
    rows = (await session.scalars(keyset(query, ApiToken.created_at, ApiToken.id, page))).all()
    return to_page(rows, page)


async def get_api_token(
    session: AsyncSession, principal: Principal, token_id: uuid.UUID
) -> ApiToken:
    return await API_TOKENS.get_or_404(session, principal, token_id, *_own(principal))


async def revoke_api_token(
    session: AsyncSession, principal: Principal, token_id: uuid.UUID
) -> ApiToken:
    """Revoke a token now; revoking a revoked token changes nothing and records nothing."""
    api_token = await get_api_token(session, principal, token_id)
    if api_token.revoked_at is not None:
        return api_token
    api_token.revoked_at = datetime.now(UTC)
    await session.flush()
    await audit.record(
        session,
        principal,
        action="api_token.revoked",
        record_type="api_token",
        record_id=api_token.id,
        after={"name": api_token.name, "owner_id": str(api_token.user_id)},
    )
    return api_token
