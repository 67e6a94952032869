"""Signed file links: ``<public_url>/v1/files/<token>``, how the API serves a stored file
without a session, for the storage providers that have no presigned URL of their own (the
filesystem; S3 answers its own presigned GET).

The token is ``<payload>.<mac>``: the payload is URL-safe base64 of a small JSON object
(firm id, storage key, file name, content type, expiry in Unix seconds) and the MAC is
HMAC-SHA256 over it, keyed with a key HKDF derives from the server's encryption keys under
its own label (``core.crypto.configured_keys``: one secret for an operator to manage and
rotate; a pay token or device cookie can never pass for a file link). The first key signs,
every key verifies, comparison is constant-time. Nothing in the payload is secret, and
nothing in it can be changed without the MAC failing: another firm's key, another name,
a later expiry.

A token that is not ours (malformed, tampered, signed with a key we do not hold) is a 403;
one we signed that has expired is a 410 Gone. Telling the two apart reveals nothing: only
a token with a valid MAC ever learns that it has expired."""

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from core.config import Settings
from core.crypto import configured_keys
from core.errors import AppError, Forbidden
from core.security import constant_time_equals, derive_key, mac

_PURPOSE = "firmflow file link v1"
# A file name (255) and a key (512) at most, base64'd, with room to spare; anything longer
# is refused before any work.
MAX_TOKEN = 2048


class FileLinkInvalid(Forbidden):
    title = "Invalid download link"
    slug = "file-link-invalid"


class FileLinkExpired(AppError):
    status = 410
    title = "Download link expired"
    slug = "file-link-expired"


class FileLinksUnavailable(AppError):
    status = 503
    title = "Service unavailable"
    slug = "file-links-unavailable"


@dataclass(frozen=True)
class FileGrant:
    """What a valid token lets its bearer download."""

    firm_id: uuid.UUID
    key: str
    file_name: str
    content_type: str
    expires_at: datetime


@dataclass(frozen=True)
class FileLinks:
    keys: tuple[bytes, ...]

    @classmethod
    def from_settings(cls, settings: Settings) -> "FileLinks":
        return cls(tuple(derive_key(secret, _PURPOSE) for secret in configured_keys(settings)))

    def issue(self, grant: FileGrant) -> str:
        if not self.keys:
            raise FileLinksUnavailable(
                "This server has no encryption key configured (FIRMFLOW_ENCRYPTION_KEYS), "
                "so it cannot sign download links"
            )
        body = {
            "f": str(grant.firm_id),
            "k": grant.key,
            "n": grant.file_name,
            "t": grant.content_type,
            "e": int(grant.expires_at.timestamp()),
        }
        raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        payload = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        return f"{payload}.{mac(self.keys[0], payload)}"

    def verify(self, token: str, *, now: datetime) -> FileGrant:
        """The grant of a token this server signed; FileLinkInvalid or FileLinkExpired."""
        payload, dot, signature = token.rpartition(".")
        if not dot or len(token) > MAX_TOKEN or not self.keys:
            raise FileLinkInvalid()
        # Every key is tried: the time taken does not tell which one matched.
        matched = False
        for key in self.keys:
            matched |= constant_time_equals(mac(key, payload), signature)
        if not matched:
            raise FileLinkInvalid()
        try:
            body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            grant = FileGrant(
                firm_id=uuid.UUID(body["f"]),
                key=str(body["k"]),
                file_name=str(body["n"]),
                content_type=str(body["t"]),
                expires_at=datetime.fromtimestamp(int(body["e"]), now.tzinfo),
            )
        except (binascii.Error, ValueError, KeyError, TypeError):
            # Signed by us yet unreadable: only a bug could make one; refused all the same.
            raise FileLinkInvalid() from None
        if grant.expires_at <= now:
            raise FileLinkExpired("This download link has expired; ask for a new one")
        return grant
