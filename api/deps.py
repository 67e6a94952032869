"""Typed dependencies every route uses: the session (the only place that commits), the
principal (bearer token → firm-scoped transaction), role checks and the Temporal client."""

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client as TemporalClient

# The list dependency (limit + cursor) lives beside the page envelope it belongs to.
from api.schemas.common import PageDep as PageDep
from core.errors import Forbidden, Unauthorized
from core.outbox_dispatch import dispatch_after_commit, pop_outbox_ids
from core.principal import Principal
from models.user import Role
from services.auth import authenticate

_bearer = HTTPBearer(auto_error=False, description="A login session or personal API token")


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed when the route returns, rolled back when it
    raises. Only after a commit does the outbox fast path dispatch what the request queued."""
    maker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with maker() as session:
        async with session.begin():
            yield session
        await dispatch_after_commit(maker, request.app.state.temporal, pop_outbox_ids(session))


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_principal(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("Missing bearer token", headers={"WWW-Authenticate": "Bearer"})
    request_id: str | None = getattr(request.state, "request_id", None)
    principal = await authenticate(session, credentials.credentials, request_id)
    request.state.principal = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require_roles(*roles: Role) -> Callable[[Principal], Coroutine[Any, Any, Principal]]:
    allowed = frozenset(roles)

    async def check(principal: PrincipalDep) -> Principal:
        if principal.role not in allowed:
            raise Forbidden("Your role does not allow this action")
        return principal

    return check


STAFF_ROLES = (Role.owner, Role.admin, Role.staff)
ADMIN_ROLES = (Role.owner, Role.admin)
StaffDep = Annotated[Principal, Depends(require_roles(*STAFF_ROLES))]
AdminDep = Annotated[Principal, Depends(require_roles(*ADMIN_ROLES))]
MemberDep = Annotated[Principal, Depends(require_roles(*(r for r in Role if r != Role.client)))]


async def get_temporal(request: Request) -> TemporalClient:
    client: TemporalClient = await request.app.state.temporal()
    return client


TemporalDep = Annotated[TemporalClient, Depends(get_temporal)]
