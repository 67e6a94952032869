"""Signup, login, logout, invitation acceptance and ``/me``.

Signup, login and invitation acceptance are the only unauthenticated writes. When the
``signup_enabled`` setting is off, signup answers 403 with a problem that says so (the route
still exists, so clients can tell "turned off" from a wrong URL).
"""

from datetime import timedelta
from typing import Literal, cast

from fastapi import APIRouter, Request, status

from api.deps import PrincipalDep, SessionDep
from api.schemas.auth import (
    AcceptInvitationCreate,
    FirmRead,
    LoginCreate,
    MeRead,
    SessionRead,
    SignupCreate,
)
from api.schemas.users import UserRead
from core.config import Settings
from services import auth, firms, users
from services.auth import IssuedSession

router = APIRouter()


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _session_ttl(request: Request) -> timedelta:
    return timedelta(hours=_settings(request).session_ttl_hours)


def _request_id(request: Request) -> str | None:
    request_id: str | None = getattr(request.state, "request_id", None)
    return request_id


def _session_read(issued: IssuedSession) -> SessionRead:
    return SessionRead(
        token=issued.token,
        expires_at=issued.expires_at,
        user=UserRead.from_model(issued.user),
        firm=FirmRead.from_model(issued.firm),
    )


@router.post("/signup", status_code=status.HTTP_201_CREATED)
async def signup(body: SignupCreate, request: Request, session: SessionDep) -> SessionRead:
    """Create a firm and its owner, and sign the owner in."""
    issued = await firms.signup(
        session,
        enabled=_settings(request).signup_enabled,
        firm_name=body.firm_name,
        slug=body.firm_slug,
        owner_email=body.email,
        owner_password=body.password,
        owner_name=body.name,
        time_zone=body.time_zone,
        default_currency=body.default_currency,
        session_ttl=_session_ttl(request),
        request_id=_request_id(request),
    )
    return _session_read(issued)


@router.post("/auth/login")
async def login(body: LoginCreate, request: Request, session: SessionDep) -> SessionRead:
    """Exchange email and password for a login session (a bearer token)."""
    issued = await auth.login(
        session,
        email=body.email,
        password=body.password,
        firm_slug=body.firm_slug,
        ttl=_session_ttl(request),
        request_id=_request_id(request),
    )
    return _session_read(issued)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(principal: PrincipalDep, session: SessionDep) -> None:
    """Revoke the login session this request is authenticated with."""
    await auth.logout(session, principal)


@router.post("/auth/accept-invitation")
async def accept_invitation(
    body: AcceptInvitationCreate, request: Request, session: SessionDep
) -> SessionRead:
    """Choose a password with an invitation token, which activates the user and signs in."""
    issued = await users.accept_invitation(
        session,
        token=body.token,
        password=body.password,
        session_ttl=_session_ttl(request),
        request_id=_request_id(request),
    )
    return _session_read(issued)


@router.get("/me")
async def me(principal: PrincipalDep, session: SessionDep) -> MeRead:
    user, firm = await auth.current_user(session, principal)
    return MeRead(
        user=UserRead.from_model(user),
        firm=FirmRead.from_model(firm),
        credential=cast(Literal["session", "api_token"], principal.credential),
    )
