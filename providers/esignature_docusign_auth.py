"""DocuSign's access tokens: one stored in the firm's credential, or DocuSign's JWT grant.

The JWT grant (https://developers.docusign.com/platform/auth/jwt/) is how a server acts for
a DocuSign user without a browser: an RS256-signed assertion (``iss`` the integration key,
``sub`` the user's id, ``aud`` the OAuth host, ``scope`` "signature impersonation", an hour
of validity) is exchanged at ``POST <oauth base>/oauth/token`` for an access token valid an
hour. The user grants consent once, in DocuSign. Tokens are kept in the process until five
minutes before they expire, keyed by a hash of the grant's parameters (never the key
itself), so a busy worker asks DocuSign for one token an hour per connection, not one per
call."""

import base64
import hashlib
import json
import time
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlencode, urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from providers.esignature import CALL_TIMEOUT, EsignatureProviderRefused, call
from providers.http import HttpClient, HttpRequest

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
SCOPE = "signature impersonation"
ASSERTION_SECONDS = 3600
# A token is renewed this long before DocuSign says it expires.
RENEW_BEFORE_SECONDS = 300
_MAX_CACHED = 1024


class DocuSignAuth(Protocol):
    async def token(self, client: HttpClient) -> str: ...


@dataclass(frozen=True)
class StoredToken:
    access_token: str

    async def token(self, client: HttpClient) -> str:
        return self.access_token


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def assertion(integration_key: str, user_id: str, audience: str, private_key: str, now: int) -> str:
    """The signed JWT the grant exchanges."""
    try:
        key = serialization.load_pem_private_key(private_key.encode(), password=None)
    except (ValueError, TypeError):
        raise EsignatureProviderRefused("The DocuSign private key could not be read") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise EsignatureProviderRefused("The DocuSign private key must be an RSA key")
    header = {"alg": "RS256", "typ": "JWT"}
    claims = {
        "iss": integration_key,
        "sub": user_id,
        "aud": audience,
        "iat": now,
        "exp": now + ASSERTION_SECONDS,
        "scope": SCOPE,
    }
    signing_input = ".".join(
        _b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
    )
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64url(signature)}"


# (grant hash) -> (access token, monotonic expiry).
_TOKENS: dict[str, tuple[str, float]] = {}


@dataclass(frozen=True)
class JwtGrant:
    oauth_base_url: str
    integration_key: str
    user_id: str
    private_key: str

    def _cache_key(self) -> str:
        material = "\0".join(
            (self.oauth_base_url, self.integration_key, self.user_id, self.private_key)
        )
        return hashlib.sha256(material.encode()).hexdigest()

    async def token(self, client: HttpClient) -> str:
        key = self._cache_key()
        cached = _TOKENS.get(key)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        audience = urlsplit(self.oauth_base_url).hostname or ""
        form = urlencode(
            {
                "grant_type": GRANT_TYPE,
                "assertion": assertion(
                    self.integration_key,
                    self.user_id,
                    audience,
                    self.private_key,
                    int(time.time()),
                ),
            }
        )
        request = HttpRequest(
            "POST",
            f"{self.oauth_base_url}/oauth/token",
            {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
            form,
            CALL_TIMEOUT,
        )
        answer = (await call(client, "DocuSign", request, ok=(200,))).body
        token = answer.get("access_token") if isinstance(answer, dict) else None
        lifetime = answer.get("expires_in") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token or not isinstance(lifetime, int):
            raise EsignatureProviderRefused("DocuSign answered the JWT grant without a token")
        if len(_TOKENS) >= _MAX_CACHED:
            _TOKENS.clear()
        _TOKENS[key] = (token, time.monotonic() + max(0, lifetime - RENEW_BEFORE_SECONDS))
        return token
