"""Signup, login, logout, password recovery and change, invitation acceptance and ``/me``.

Signup, login, password recovery and invitation acceptance are the only unauthenticated
writes. When the ``signup_enabled`` setting is off, signup answers 403 with a problem that
says so (the route still exists, so clients can tell "turned off" from a wrong URL).
Every route that signs someone in also sets the browser session cookie; API clients use the
token in the body.
"""

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal, cast

from fastapi import APIRouter, BackgroundTasks, Cookie, Request, Response, status
from fastapi.responses import JSONResponse

from api.deps import EmailDep, Requires, SessionDep, SettingsDep
from api.errors import app_problem
from api.openapi import errors
from api.schemas.auth import (
    AcceptInvitationCreate,
    EnrollmentRequiredRead,
    FirmRead,
    LoginCreate,
    LoginRead,
    MeRead,
    MfaRequiredRead,
    PasswordChange,
    PasswordResetConfirm,
    PasswordResetCreate,
    SessionRead,
    SignupCreate,
)
from api.schemas.users import UserRead
from api.session_cookie import (
    DEVICE_COOKIE,
    clear_session_cookie,
    set_device_cookie,
    set_session_cookie,
)
from core.config import Settings
from core.errors import BadRequest, Conflict, Forbidden, NotFound
from core.permissions import Permission
from core.principal import Principal
from services import auth, firms, password_reset, users
from services.auth import SecondStep
from services.login_devices import COOKIE_TTL, DeviceCookies
from services.throttle import CountedFailure, TooManyAttempts
from services.tokens import IssuedSession

router = APIRouter()


def session_ttl(settings: Settings) -> timedelta:
    return timedelta(hours=settings.session_ttl_hours)


def request_id_of(request: Request) -> str | None:
    request_id: str | None = getattr(request.state, "request_id", None)
    return request_id


def client_address(request: Request) -> str | None:
    """The peer address as uvicorn reports it. X-Forwarded-For is never read here, since any
    client can send it; uvicorn applies it only for the proxies named in
    FIRMFLOW_FORWARDED_ALLOW_IPS (docs/security.md)."""
    return request.client.host if request.client else None


def refused(request: Request, error: CountedFailure) -> JSONResponse:
    """Answer a counted sign-in failure without raising: the session dependency then
    commits, and the failure count survives the refusal."""
    return app_problem(error, request)


def session_read(
    issued: IssuedSession, response: Response | None = None, settings: Settings | None = None
) -> SessionRead:
    if response is not None and settings is not None:
        remaining = int((issued.expires_at - datetime.now(UTC)).total_seconds())
        set_session_cookie(response, issued.token, settings, max(remaining, 0))
    return SessionRead(
        token=issued.token,
        expires_at=issued.expires_at,
        user=UserRead.from_model(issued.user),
        firm=FirmRead.from_model(issued.firm),
    )


def second_step_read(step: SecondStep) -> MfaRequiredRead | EnrollmentRequiredRead:
    if step.purpose == "login":
        return MfaRequiredRead(mfa_token=step.token, expires_at=step.expires_at)
    return EnrollmentRequiredRead(enrollment_token=step.token, expires_at=step.expires_at)


@router.post("/signup", status_code=status.HTTP_201_CREATED, responses=errors(Forbidden, Conflict))
async def signup(
    body: SignupCreate,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
) -> SessionRead:
    """Create a firm and its owner, and sign the owner in."""
    issued = await firms.signup(
        session,
        enabled=settings.signup_enabled,
        firm_name=body.firm_name,
        slug=body.firm_slug,
        owner_email=body.email,
        owner_password=body.password,
        owner_name=body.name,
        time_zone=body.time_zone,
        default_currency=body.default_currency,
        session_ttl=session_ttl(settings),
        request_id=request_id_of(request),
    )
    return session_read(issued, response, settings)


@router.post(
    "/auth/login", response_model=LoginRead, responses=errors(CountedFailure, TooManyAttempts)
)
async def login(
    body: LoginCreate,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    device_cookie: Annotated[str | None, Cookie(alias=DEVICE_COOKIE)] = None,
) -> LoginRead | JSONResponse:
    """Exchange email and password for a login session (a bearer token and the browser
    cookie), or for the token of the second step: ``mfa_required`` (send a code to
    /auth/login/mfa) or ``mfa_enrollment_required`` (the firm requires two-factor; enrol
    through /auth/login/enrollment). Repeated failures are throttled (429, Retry-After);
    a browser that signed in to the account before is throttled apart from the rest by its
    device cookie."""
    try:
        result = await auth.login(
            session,
            email=body.email,
            password=body.password,
            firm_slug=body.firm_slug,
            ttl=session_ttl(settings),
            client_address=client_address(request),
            device_cookie=device_cookie,
            devices=DeviceCookies.from_settings(settings),
            request_id=request_id_of(request),
        )
    except CountedFailure as error:
        return refused(request, error)
    if result.device_cookie is not None:
        max_age = int(COOKIE_TTL.total_seconds())
        set_device_cookie(response, result.device_cookie, settings, max_age)
    if isinstance(result.outcome, SecondStep):
        return second_step_read(result.outcome)
    return session_read(result.outcome, response, settings)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT, responses=errors(BadRequest))
async def logout(
    response: Response,
    principal: Annotated[Principal, Requires(Permission.account)],
    session: SessionDep,
    settings: SettingsDep,
) -> None:
    """Revoke the login session this request is authenticated with, and clear the cookie."""
    await auth.logout(session, principal)
    clear_session_cookie(response, settings)


@router.post("/auth/password", status_code=status.HTTP_204_NO_CONTENT)
async def change_password(
    body: PasswordChange,
    principal: Annotated[Principal, Requires(Permission.account)],
    session: SessionDep,
) -> None:
    """Change your own password; your other login sessions end."""
    await auth.change_password(
        session,
        principal,
        current_password=body.current_password,
        new_password=body.new_password,
    )


@router.post("/auth/password-reset", status_code=status.HTTP_202_ACCEPTED)
async def request_password_reset(
    body: PasswordResetCreate,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    email: EmailDep,
    background: BackgroundTasks,
) -> None:
    """Email a reset link if the address belongs to someone. The answer is always 202."""
    messages = await password_reset.request_reset(
        session,
        email=body.email,
        public_url=settings.public_url,
        request_id=request_id_of(request),
    )
    # Sent after the response, so the token is committed first and a known address does
    # not answer slower than an unknown one.
    background.add_task(password_reset.deliver, email, messages)


@router.post(
    "/auth/password-reset/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=errors(NotFound, Conflict),
)
async def confirm_password_reset(
    body: PasswordResetConfirm, request: Request, session: SessionDep
) -> None:
    """Set a new password with a reset token; every login session of the user ends."""
    await password_reset.confirm_reset(
        session, token=body.token, password=body.password, request_id=request_id_of(request)
    )


@router.post("/auth/accept-invitation", responses=errors(NotFound, Conflict))
async def accept_invitation(
    body: AcceptInvitationCreate,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
) -> SessionRead:
    """Choose a password with an invitation token, which activates the user and signs in."""
    issued = await users.accept_invitation(
        session,
        token=body.token,
        password=body.password,
        session_ttl=session_ttl(settings),
        request_id=request_id_of(request),
    )
    return session_read(issued, response, settings)


@router.get("/me", responses=errors(NotFound))
async def me(
    principal: Annotated[Principal, Requires(Permission.account)], session: SessionDep
) -> MeRead:
    user, firm = await auth.current_user(session, principal)
    return MeRead(
        user=UserRead.from_model(user),
        firm=FirmRead.from_model(firm),
        credential=cast(Literal["session", "api_token"], principal.credential),
    )
