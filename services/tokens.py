"""Bearer credentials: issuing login sessions, and personal API tokens (create, list,
revoke). Everyone manages their own API tokens; owners and admins see and revoke every
token of their firm."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Select, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import BadRequest, Forbidden, NotFound, Unprocessable
from core.principal import Principal
from core.security import API_TOKEN_PREFIX, SESSION_PREFIX, new_token
from models import ApiToken, LoginSession, Role, User
from services import audit

_SEES_ALL_TOKENS = frozenset({Role.owner, Role.admin})


@dataclass(frozen=True)
class ApiTokenPage:
    items: list[ApiToken]
    # The id of the last token on this page; the next page starts after it.
    next_cursor: uuid.UUID | None


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


def _visible(principal: Principal) -> Select[ApiToken]:
    query = select(ApiToken).where(ApiToken.firm_id == principal.firm_id)
    if principal.role not in _SEES_ALL_TOKENS:
        query = query.where(ApiToken.user_id == principal.user_id)
    return query


async def create_api_token(
    session: AsyncSession,
    principal: Principal,
    *,
    name: str,
    expires_at: datetime | None,
) -> tuple[ApiToken, str]:
    """A personal API token of the caller; the secret is returned here and never again."""
    if principal.user_id is None:
        raise Forbidden("API tokens belong to users; the system cannot own one")
    if expires_at is not None and expires_at <= datetime.now(UTC):
        raise Unprocessable(
            "The expiry must be in the future",
            errors=[{"detail": "must be in the future", "pointer": "/expires_at"}],
        )
    user = await session.scalar(
        select(User).where(User.firm_id == principal.firm_id, User.id == principal.user_id)
    )
    if user is None:
        raise NotFound("The signed-in user no longer exists")
    api_token, token = await issue_api_token(session, user, name, expires_at)
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
    limit: int,
    cursor: uuid.UUID | None,
) -> ApiTokenPage:
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
    key = tuple_(ApiToken.created_at, ApiToken.id)
    if cursor is not None:
        after = (
            await session.execute(
                _visible(principal)
                .with_only_columns(ApiToken.created_at, ApiToken.id)
                .where(ApiToken.id == cursor)
            )
        ).one_or_none()
        if after is None:
            raise BadRequest("The cursor does not belong to this list; start again without it")
        query = query.where(key < tuple_(after[0], after[1]))
    order = (ApiToken.created_at.desc(), ApiToken.id.desc())
    tokens = list((await session.scalars(query.order_by(*order).limit(limit + 1))).all())
    items = tokens[:limit]
    return ApiTokenPage(items=items, next_cursor=items[-1].id if len(tokens) > limit else None)


async def get_api_token(
    session: AsyncSession, principal: Principal, token_id: uuid.UUID
) -> ApiToken:
    api_token = await session.scalar(_visible(principal).where(ApiToken.id == token_id))
    if api_token is None:
        raise NotFound("No API token with this id is visible to you")
    return api_token


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
