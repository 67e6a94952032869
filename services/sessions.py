"""A user's own credentials: the login sessions and API tokens that can act as them,
listed together, revoked one at a time or all at once.

Only the caller's own credentials are reachable here, whatever their role; owners and admins
revoke other people's API tokens through services.tokens, and deactivating a user ends
all of theirs (services.users)."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    literal,
    null,
    or_,
    select,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import NotFound
from core.pagination import Page, PageParams, to_page
from core.principal import Principal
from models import ApiToken, LoginSession
from services import audit
from services.identity_repository import API_TOKENS, LOGIN_SESSIONS, UserCredentials

Kind = Literal["session", "api_token"]
_KINDS: tuple[tuple[Kind, UserCredentials, str], ...] = (
    ("session", LOGIN_SESSIONS, "login_session"),
    ("api_token", API_TOKENS, "api_token"),
)


@dataclass(frozen=True)
class Credential:
    id: uuid.UUID
    kind: Kind
    prefix: str
    # API tokens only: the name their owner gave them.
    name: str | None
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    # The credential the request listing them was made with.
    current: bool


@dataclass(frozen=True)
class Revoked:
    sessions: int
    api_tokens: int


def _mine(credentials: UserCredentials, principal: Principal) -> ColumnElement[bool]:
    return and_(credentials.owned_by(principal), credentials.model.user_id == principal.user_id)


def _usable(model: type[LoginSession] | type[ApiToken], now: datetime) -> ColumnElement[bool]:
    return and_(model.revoked_at.is_(None), or_(model.expires_at.is_(None), model.expires_at > now))


def _listing(
    credentials: UserCredentials,
    kind: Kind,
    principal: Principal,
    now: datetime,
    page: PageParams,
) -> Select[*tuple[Any, ...]]:
    """One kind's page, keyset-limited on its own, so the union merges two short lists."""
    model = credentials.model
    name = ApiToken.name if model is ApiToken else null()
    stmt = select(
        model.id,
        literal(kind).label("kind"),
        model.prefix,
        name.label("name"),
        model.created_at,
        model.expires_at,
        model.last_used_at,
    ).where(_mine(credentials, principal), _usable(model, now))
    if page.cursor is not None:
        stmt = stmt.where(
            tuple_(model.created_at, model.id) < (page.cursor.created_at, page.cursor.id)
        )
    return stmt.order_by(model.created_at.desc(), model.id.desc()).limit(page.limit + 1)


async def list_credentials(
    session: AsyncSession, principal: Principal, *, page: PageParams
) -> Page[Credential]:
    """The caller's usable login sessions and API tokens (neither revoked nor expired),
    newest first, keyset-paginated across both kinds."""
    now = datetime.now(UTC)
    both = union_all(
        *(_listing(credentials, kind, principal, now, page) for kind, credentials, _ in _KINDS)
    ).subquery()
    merged = select(both).order_by(both.c.created_at.desc(), both.c.id.desc()).limit(page.limit + 1)
    rows = (await session.execute(merged)).mappings().all()
    credentials = [
        Credential(
            id=row["id"],
            kind=row["kind"],
            prefix=row["prefix"],
            name=row["name"],
            created_at=row["created_at"],
            expires_at=row["expires_at"],
            last_used_at=row["last_used_at"],
            current=row["id"] == principal.credential_id,
        )
        for row in rows
    ]
    return to_page(credentials, page)


async def revoke(session: AsyncSession, principal: Principal, credential_id: uuid.UUID) -> None:
    """Revoke one of the caller's own login sessions or API tokens (the current one
    included: that signs this client out). Revoking a revoked one changes and records
    nothing; anyone else's id is a 404."""
    for _, credentials, record_type in _KINDS:
        credential: LoginSession | ApiToken | None = await credentials.get(
            session,
            principal,
            credential_id,
            credentials.model.user_id == principal.user_id,
            lock=True,
        )
        if credential is None:
            continue
        if credential.revoked_at is None:
            credential.revoked_at = datetime.now(UTC)
            await session.flush()
            await audit.record(
                session,
                principal,
                action=f"{record_type}.revoked",
                record_type=record_type,
                record_id=credential.id,
                after={"prefix": credential.prefix, "owner_id": str(credential.user_id)},
            )
        return
    raise NotFound("You have no session or API token with this id")


async def revoke_all(session: AsyncSession, principal: Principal) -> Revoked:
    """Revoke every usable login session and API token of the caller except the one this
    request was made with: "sign out everywhere else" leaves the person signed in where
    they asked from (logging out, or revoking it by id, ends that one too)."""
    now = datetime.now(UTC)
    counts: dict[Kind, int] = {}
    for kind, credentials, _ in _KINDS:
        model = credentials.model
        stmt = update(model).where(_mine(credentials, principal), _usable(model, now))
        if principal.credential_id is not None:
            stmt = stmt.where(model.id != principal.credential_id)
        revoked = await session.scalars(stmt.values(revoked_at=now).returning(model.id))
        counts[kind] = len(revoked.all())
    result = Revoked(sessions=counts["session"], api_tokens=counts["api_token"])
    if result.sessions or result.api_tokens:
        await audit.record(
            session,
            principal,
            action="user.credentials_revoked",
            record_type="user",
            record_id=principal.user_id,
            after={
                "sessions": result.sessions,
                "api_tokens": result.api_tokens,
                "kept": str(principal.credential_id) if principal.credential_id else None,
            },
        )
    return result
