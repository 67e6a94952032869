"""Device cookies: a browser that has signed in to an account before is not locked out with it.

OWASP's "Slow Down Online Guessing Attacks with Device Cookies". Five failures lock an
account (services.throttle), which would lock its owner out too while someone guesses. So a
correct password earns the browser a device cookie: a random nonce and an expiry, signed
(HMAC-SHA256) together with the account's throttle key. At a later login for that same
account, a valid cookie is counted under its own key ("device:<nonce>", as strict as the
account's) instead of the account's: it gets through while unknown browsers are locked out,
and after five failures of its own it is locked out itself. A forged, expired or other
account's cookie is ignored, so the account's lockout applies.

Nothing is stored for a cookie until it fails. Its signing key is derived from the server's
encryption keys (core.crypto.configured_keys): the first signs, each verifies, so it rotates
with them. A server with no key issues and honours no device cookie: logins are throttled as
if none were sent.
"""

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.config import Settings
from core.crypto import configured_keys
from core.security import constant_time_equals, derive_key, mac
from services import throttle

# Long enough that a browser used every few months keeps its standing.
COOKIE_TTL = timedelta(days=180)
_PURPOSE = "firmflow device cookie v1"
_NONCE = re.compile(r"[A-Za-z0-9_-]{22}")
# A valid cookie is under 90 characters; anything much longer is refused before any work.
_MAX_COOKIE = 200


@dataclass(frozen=True)
class DeviceCookies:
    keys: tuple[bytes, ...]

    @classmethod
    def from_settings(cls, settings: Settings) -> "DeviceCookies":
        return cls(tuple(derive_key(secret, _PURPOSE) for secret in configured_keys(settings)))

    def issue(self, email: str, *, now: datetime) -> str | None:
        """A new device cookie for ``email``'s account; None when the server has no key."""
        if not self.keys:
            return None
        nonce = secrets.token_urlsafe(16)
        expires = int((now + COOKIE_TTL).timestamp())
        return f"{nonce}.{expires}.{mac(self.keys[0], _signed(email, nonce, expires))}"

    def throttle_key(self, cookie: str | None, email: str, *, now: datetime) -> str | None:
        """The throttle key of ``cookie`` if it is an unexpired device cookie this server
        signed for ``email``'s account; None otherwise."""
        if not cookie or len(cookie) > _MAX_COOKIE:
            return None
        nonce, _, rest = cookie.partition(".")
        expires, _, signature = rest.partition(".")
        if not _NONCE.fullmatch(nonce) or not expires.isdecimal():
            return None
        if int(expires) <= now.timestamp():
            return None
        signed = _signed(email, nonce, int(expires))
        if not any(constant_time_equals(mac(key, signed), signature) for key in self.keys):
            return None
        return throttle.device_key(nonce)


def _signed(email: str, nonce: str, expires: int) -> str:
    return f"{throttle.account_key(email)}|{nonce}|{expires}"
