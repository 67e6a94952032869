"""The browser session cookie and its CSRF companion (double-submit), and the device cookie.

Browsers authenticate with an HttpOnly cookie holding a login session token; API clients
keep sending bearer tokens. A cookie-authenticated unsafe request must also carry the CSRF
cookie's value in the ``X-CSRF-Token`` header and come from an allowed ``Origin``. The
device cookie (services.login_devices) is sent to the login route only."""

import secrets
from urllib.parse import urlsplit

from fastapi import Request, Response

from core.config import Settings
from core.errors import Forbidden
from core.security import constant_time_equals

SESSION_COOKIE = "ff_session"
CSRF_COOKIE = "ff_csrf"
CSRF_HEADER = "X-CSRF-Token"
DEVICE_COOKIE = "ff_device"
# Only the password login reads it; no other request needs to carry it.
DEVICE_COOKIE_PATH = "/v1/auth/login"
# Methods that must not change anything, so a cross-site page gains nothing by sending them.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


class CsrfRefused(Forbidden):
    title = "Cross-site request refused"
    slug = "csrf-refused"


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


def set_device_cookie(response: Response, value: str, settings: Settings, max_age: int) -> None:
    response.set_cookie(
        DEVICE_COOKIE,
        value,
        max_age=max_age,
        httponly=True,
        secure=settings.cookie_secure,
        samesite="lax",
        path=DEVICE_COOKIE_PATH,
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    for name in (SESSION_COOKIE, CSRF_COOKIE):
        response.delete_cookie(name, path="/", secure=settings.cookie_secure, samesite="lax")


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of ``url``, lower-cased and without a default port; None
    when ``url`` names no http(s) origin (``null``, a path, garbage)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


def mark_signed_in_by_cookie(request: Request) -> None:
    request.state.signed_in_by_cookie = True


def signed_in_by_cookie(request: Request) -> bool:
    """Whether this request's principal came from the session cookie (not a bearer token),
    so ending its session should clear the browser's cookies too."""
    return bool(getattr(request.state, "signed_in_by_cookie", False))


def check_csrf(request: Request, settings: Settings) -> None:
    """Refuse an unsafe cookie-authenticated request unless it comes from our own origin
    and echoes the CSRF cookie in the CSRF header.

    The header proves the sender could read our cookie, which only our own pages can; the
    origin check stops a sibling subdomain that managed to plant a CSRF cookie. Browsers
    send ``Origin`` on every cross-origin unsafe request; when it is missing, ``Referer``
    stands in, and a request with neither is refused."""
    if request.method.upper() in SAFE_METHODS:
        return
    claimed = request.headers.get("origin") or request.headers.get("referer")
    if claimed is None:
        raise CsrfRefused("A request signed in by cookie must send an Origin or Referer header")
    origin = origin_of(claimed)
    if origin is None or origin != origin_of(settings.public_url):
        raise CsrfRefused("This request comes from an origin that may not use the session")
    cookie = request.cookies.get(CSRF_COOKIE, "")
    header = request.headers.get(CSRF_HEADER, "")
    if not cookie or not header or not constant_time_equals(cookie, header):
        raise CsrfRefused(
            f"A request signed in by cookie must echo the {CSRF_COOKIE} cookie "
            f"in the {CSRF_HEADER} header"
        )
