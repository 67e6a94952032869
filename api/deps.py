"""Typed dependencies every route uses: the session (the only place that commits), the
principal (bearer token or browser session cookie → firm-scoped transaction), the
permission a route declares and the Temporal client."""

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client as TemporalClient

# The idempotency key and the list dependency (limit + cursor) live beside what uses them:
# the replay of a stored response, and the page envelope.
from api.idempotency import IdempotencyDep as IdempotencyDep
from api.openapi import raises
from api.schemas.common import PageDep as PageDep
from api.session_cookie import SESSION_COOKIE, CsrfRefused, check_csrf, mark_signed_in_by_cookie
from core.errors import Unauthorized
from core.outbox import pop_outbox_ids
from core.permissions import Permission, PermissionDenied, require
from core.principal import Principal
from core.security import SESSION_PREFIX
from services.auth import authenticate
from services.outbox_dispatch import dispatch_after_commit

_bearer = HTTPBearer(auto_error=False, description="A login session or personal API token")
_session_cookie = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    description=(
        "The browser session set at login. Unsafe methods also need the ff_csrf cookie's "
        "value in the X-CSRF-Token header and an Origin of this site."
    ),
)
_INVALID = "Invalid or expired credentials"


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed when the route returns, rolled back when it
    raises. Only after a commit does the outbox fast path dispatch what the request queued."""
    maker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with maker() as session:
        async with session.begin():
            yield session
        await dispatch_after_commit(maker, request.app.state.temporal, pop_outbox_ids(session))


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


@raises(Unauthorized, CsrfRefused)
async def get_principal(
    request: Request,
    session: SessionDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    cookie: Annotated[str | None, Depends(_session_cookie)],
) -> Principal:
    """Who is calling. A bearer token wins over the cookie: a script that happens to carry a
    browser's cookies still acts with the credential it chose. The cookie holds a login
    session only (an API token there would be a long-lived secret in a browser), and an
    unsafe method authenticated by it must pass the CSRF checks."""
    if bearer is not None:
        token = bearer.credentials
    elif cookie:
        check_csrf(request, request.app.state.settings)
        if cookie.split("_", 1)[0] != SESSION_PREFIX:
            raise Unauthorized(_INVALID)
        token = cookie
        mark_signed_in_by_cookie(request)
    else:
        raise Unauthorized(
            "Sign in: send a bearer token or the session cookie",
            headers={"WWW-Authenticate": "Bearer"},
        )
    request_id: str | None = getattr(request.state, "request_id", None)
    principal = await authenticate(session, token, request_id)
    request.state.principal = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


@raises(PermissionDenied)
class PermissionCheck:
    """The dependency ``Requires`` builds. Its ``permission`` is what the route declares;
    the permission tests read it back from each route's dependency tree."""

    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    async def __call__(self, principal: PrincipalDep) -> Principal:
        require(principal.role, self.permission)
        return principal


def Requires(permission: Permission) -> Any:
    """``principal: Annotated[Principal, Requires(Permission.x)]``: the signed-in principal,
    or 403 when its role lacks ``x`` (core.permissions holds the table)."""
    return Depends(PermissionCheck(permission))


async def get_temporal(request: Request) -> TemporalClient:
    client: TemporalClient = await request.app.state.temporal()
    return client


TemporalDep = Annotated[TemporalClient, Depends(get_temporal)]
