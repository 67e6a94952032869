"""Every dependency a route uses, as typed ``Annotated`` aliases: the session (the only
place that commits), the principal (bearer token or browser session cookie → firm-scoped
transaction), the permission a route declares, the settings, the cipher, the email,
payment and storage providers, the Temporal client and a size-bounded raw body. Routes never read
``request.app.state``; these do.

Every dependency here is ``async def``, even those that never await: FastAPI runs a plain
``def`` dependency in its thread pool, and that hand-off to a thread and back cost about as
much CPU as a whole database round trip, on every request that used it."""

from collections.abc import AsyncIterator, Callable
from functools import cache
from typing import Annotated, Any

from fastapi import BackgroundTasks, Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

# The idempotency key and the list dependency (limit + cursor) live beside what uses them:
# the replay of a stored response, and the page envelope.
from api.idempotency import IdempotencyDep as IdempotencyDep
from api.openapi import raises
from api.schemas.common import PageDep as PageDep
from api.session_cookie import SESSION_COOKIE, CsrfRefused, check_csrf, mark_signed_in_by_cookie
from core.config import Settings
from core.crypto import Cipher
from core.errors import PayloadTooLarge, Unauthorized
from core.permissions import Permission, PermissionDenied, require
from core.principal import Principal
from core.security import SESSION_PREFIX
from core.temporal import ClientProvider
from providers.email import EmailProvider
from providers.http import HttpPool
from providers.payments import PaymentProviderFactory, StripeProviders
from providers.storage import Storage
from services.auth import authenticate
from services.outbox.dispatch import AfterAnswer, dispatch_after_commit
from services.outbox.writer import pop_outbox_ids

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


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_sessionmaker(request: Request) -> async_sessionmaker[AsyncSession]:
    maker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    return maker


SessionmakerDep = Annotated[async_sessionmaker[AsyncSession], Depends(get_sessionmaker)]


async def get_temporal(request: Request) -> ClientProvider:
    """The Temporal client as a provider that connects on first use, not a connected
    client: a route that reaches Temporal on some paths only still answers while Temporal
    is down, and the service that does reach it turns a failed connection into its 503."""
    provider: ClientProvider = request.app.state.temporal
    return provider


TemporalDep = Annotated[ClientProvider, Depends(get_temporal)]


async def get_session(maker: SessionmakerDep, temporal: TemporalDep) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed when the route returns, rolled back when it
    raises. Only after a commit does the outbox fast path dispatch what the request queued."""
    async with maker() as session:
        async with session.begin():
            yield session
        await dispatch_after_commit(maker, temporal, pop_outbox_ids(session))


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_ingest_session(
    request: Request, maker: SessionmakerDep, temporal: TemporalDep, background: BackgroundTasks
) -> AsyncIterator[AsyncSession]:
    """``get_session`` for the endpoints other systems deliver to (Stripe, inbound
    webhooks): committed when the route returns, so the answer means stored, but the outbox
    fast path runs after the answer is sent, batched with the other answered deliveries'
    (services.outbox.dispatch.AfterAnswer). A sender waits for its event being durable,
    not for a Temporal call; what the fast path does not do (the process stops first,
    Temporal is down) stays pending for the relay."""
    async with maker() as session:
        async with session.begin():
            yield session
        ids = pop_outbox_ids(session)
    if ids:
        state = request.app.state
        if getattr(state, "after_answer", None) is None:
            state.after_answer = AfterAnswer(maker, temporal)
        background.add_task(state.after_answer.dispatch, ids)


IngestSessionDep = Annotated[AsyncSession, Depends(get_ingest_session, scope="function")]


async def get_cipher(settings: SettingsDep) -> Cipher:
    """The secrets cipher of the configured keys; without keys it refuses (503) only when a
    route actually stores or reads a secret."""
    return Cipher.from_settings(settings)


CipherDep = Annotated[Cipher, Depends(get_cipher)]


async def get_email_provider(request: Request) -> EmailProvider:
    """Chosen by settings.email_backend when the app is made; tests replace it on
    app.state."""
    provider: EmailProvider = request.app.state.email
    return provider


EmailDep = Annotated[EmailProvider, Depends(get_email_provider)]


async def get_storage(request: Request) -> Storage:
    """The document storage provider settings.storage_backend names, built once when the
    app is made and closed in its lifespan."""
    storage: Storage = request.app.state.storage
    return storage


StorageDep = Annotated[Storage, Depends(get_storage)]


async def get_esignature_http(request: Request) -> HttpPool:
    """The e-signature adapters' HTTP pool (providers.esignature.http_pool), one per
    process, closed in the app's lifespan."""
    pool: HttpPool = request.app.state.esignature_http
    return pool


EsignatureHttpDep = Annotated[HttpPool, Depends(get_esignature_http)]


@cache
def _stripe(api_base: str) -> StripeProviders:
    return StripeProviders(api_base=api_base)


async def get_payment_providers(settings: SettingsDep) -> PaymentProviderFactory:
    """The firm → provider factory; tests override this dependency with a fake."""
    return _stripe(settings.stripe_api_base)


PaymentProvidersDep = Annotated[PaymentProviderFactory, Depends(get_payment_providers)]


@raises(Unauthorized, CsrfRefused)
async def get_principal(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
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
        check_csrf(request, settings)
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


BodyLimit = int | Callable[[Settings], int]


def webhook_body_limit(settings: Settings) -> int:
    return settings.webhook_max_bytes


@raises(PayloadTooLarge)
class BodyReader:
    """The dependency ``BoundedBody`` builds: the raw body, for routes that must see its
    exact bytes (a signature covers them; a parsed object would lose a repeated key)."""

    def __init__(self, limit: BodyLimit, what: str) -> None:
        self.limit = limit
        self.what = what

    async def __call__(self, request: Request, settings: SettingsDep) -> bytes:
        # Read no further than one chunk past the limit: a Content-Length may be absent
        # (chunked uploads have none) or wrong.
        limit = self.limit if isinstance(self.limit, int) else self.limit(settings)
        too_large = PayloadTooLarge(f"{self.what} may take at most {limit} bytes")
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise too_large
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
        return b"".join(chunks)


def BoundedBody(limit: BodyLimit, *, what: str) -> Any:
    """``body: Annotated[bytes, BoundedBody(limit, what="A definition")]``: the raw body,
    or 413 beyond ``limit`` bytes (a number, or read from the settings per request). The
    route declares the body's media types itself, through ``openapi_extra``."""
    return Depends(BodyReader(limit, what))


WebhookBody = Annotated[bytes, BoundedBody(webhook_body_limit, what="A webhook body")]


@raises(PayloadTooLarge)
class DeclaredLengthCheck:
    """The dependency ``DeclaredBodyLimit`` builds."""

    def __init__(self, limit: int, detail: str) -> None:
        self.limit = limit
        self.detail = detail

    async def __call__(self, request: Request) -> None:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.limit:
            raise PayloadTooLarge(self.detail)


def DeclaredBodyLimit(limit: int, *, detail: str) -> Any:
    """``dependencies=[DeclaredBodyLimit(limit, detail=...)]``: a 413 for a body that
    declares more than ``limit`` bytes, before it is parsed; for a parsed body whose
    service still measures what it holds (chunked bodies declare no length)."""
    return Depends(DeclaredLengthCheck(limit, detail))
