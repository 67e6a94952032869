"""Password hashing, opaque bearer tokens and message authentication codes.

Tokens are random, shown once, and stored only as SHA-256: a leaked table grants nothing.
A token carries a short public prefix so people can tell their tokens apart.
"""

import base64
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

# argon2-cffi's defaults are argon2id with the RFC 9106 low-memory profile.
_hasher = PasswordHasher()
# Verified against when the email is unknown, so both failures cost one argon2 verification.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))

SESSION_PREFIX = "ffs"
API_TOKEN_PREFIX = "ffp"  # noqa: S105
INVITATION_PREFIX = "ffi"
# The secret path segment of an automation's inbound webhook URL.
INBOUND_WEBHOOK_PREFIX = "ffh"

PASSWORD_MIN_LENGTH = 12
# Hashing cost grows with input; an upper bound keeps a login from becoming a CPU sink.
PASSWORD_MAX_LENGTH = 1024


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than the current ones."""
    return _hasher.check_needs_rehash(password_hash)


def new_token(kind: str) -> tuple[str, str, str]:
    """Return ``(token, prefix, sha256 hex)`` for a new bearer token of ``kind``."""
    body = secrets.token_urlsafe(32)
    token = f"{kind}_{body}"
    return token, token[: len(kind) + 7], hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def constant_time_equals(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def derive_key(secret: str, purpose: str) -> bytes:
    """A key for one ``purpose`` only, from a server secret (HKDF-SHA256): a value signed
    for one use can never pass as another's, and the secret itself never signs anything."""
    return HKDF(algorithm=SHA256(), length=32, salt=None, info=purpose.encode()).derive(
        secret.encode()
    )


def mac(key: bytes, message: str) -> str:
    """HMAC-SHA256 of ``message``, URL-safe base64 without padding (cookie-safe)."""
    digest = hmac.new(key, message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
