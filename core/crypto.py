"""Symmetric encryption for secrets the platform must read back (TOTP seeds, the
credentials vault).

Keys come from ``settings.encryption_keys``: Fernet keys, comma-separated. The first
encrypts; every key decrypts, so a key is rotated by putting the new one first and
dropping the old one once nothing encrypted with it remains (``MultiFernet.rotate``).

Under ``make dev`` (``settings.embedded``) with no key configured, a key is made once and
kept in ``data_dir/encryption.key``, so two-factor works on a laptop out of the box."""

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from core.config import Settings
from core.errors import AppError

DEV_KEY_FILE = "encryption.key"


class EncryptionUnavailable(AppError):
    status = 503
    title = "Service unavailable"
    slug = "encryption-unavailable"


class Cipher:
    """Encrypts and decrypts text. Built without keys it still exists, so paths that never
    touch a secret work on a server that has none configured; using it then is a 503."""

    def __init__(self, keys: list[str]) -> None:
        self._fernet = MultiFernet([Fernet(key) for key in keys]) if keys else None

    @classmethod
    def from_settings(cls, settings: Settings) -> "Cipher":
        return cls(configured_keys(settings))

    def _require(self) -> MultiFernet:
        if self._fernet is None:
            raise EncryptionUnavailable(
                "This server has no encryption key configured (FIRMFLOW_ENCRYPTION_KEYS), "
                "so it cannot store secrets (two-factor seeds, credentials)"
            )
        return self._fernet

    def encrypt(self, plaintext: str) -> str:
        return self._require().encrypt(plaintext.encode()).decode()

    def rotate(self, ciphertext: str) -> str:
        """The same plaintext encrypted under the first key (MultiFernet.rotate)."""
        try:
            return self._require().rotate(ciphertext.encode()).decode()
        except InvalidToken as exc:
            raise RuntimeError("no configured encryption key decrypts this value") from exc

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._require().decrypt(ciphertext.encode()).decode()
        except InvalidToken as exc:
            # Not a client error: the key that encrypted this was removed from the settings.
            raise RuntimeError("no configured encryption key decrypts this value") from exc


def configured_keys(settings: Settings) -> list[str]:
    """The server's keys, the current one first; other secrets (device cookie signing) are
    derived from them, so one setting is all an operator manages and rotates."""
    raw = settings.encryption_keys.get_secret_value() if settings.encryption_keys else ""
    keys = [key.strip() for key in raw.split(",") if key.strip()]
    if not keys and settings.embedded:
        keys = [dev_key(settings.data_dir)]
    return keys


def dev_key(data_dir: Path) -> str:
    """The development key in ``data_dir``, created (readable by its owner only) if missing.
    Exclusive creation: when several workers start at once, one writes and all read it."""
    path = data_dir / DEV_KEY_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(descriptor, "w") as handle:
        handle.write(Fernet.generate_key().decode())
    return path.read_text().strip()
