"""The browser session cookie and its CSRF companion (double-submit).

Browsers authenticate with an HttpOnly cookie holding a login session token; API clients
keep sending bearer tokens. A cookie-authenticated unsafe request must also carry the CSRF
cookie's value in the ``X-CSRF-Token`` header and come from an allowed ``Origin``."""

import secrets

from fastapi import Response

from core.config import Settings

SESSION_COOKIE = "ff_session"
CSRF_COOKIE = "ff_csrf"
CSRF_HEADER = "X-CSRF-Token"


def set_session_cookie(response: Response, token: str, settings: Settings, max_age: int) -> str:
    """Set the session cookie and a fresh CSRF cookie; returns the CSRF token."""
    csrf = secrets.token_urlsafe(32)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max_age,
        httponly=True,
        secure=settings.cookie_secure,
        samesite="lax",
        path="/",
    )
    # Readable by the page's script, which echoes it in the CSRF header.
    response.set_cookie(
        CSRF_COOKIE,
        csrf,
        max_age=max_age,
        httponly=False,
        secure=settings.cookie_secure,
        samesite="lax",
        path="/",
    )
    return csrf


def clear_session_cookie(response: Response, settings: Settings) -> None:
    for name in (SESSION_COOKIE, CSRF_COOKIE):
        response.delete_cookie(name, path="/", secure=settings.cookie_secure, samesite="lax")
