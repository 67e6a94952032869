"""Symmetric encryption for secrets the platform must read back (TOTP seeds).

Keys come from ``settings.encryption_keys``: Fernet keys, comma-separated. The first
encrypts; every key decrypts, so a key is rotated by putting the new one first and
dropping the old one once nothing encrypted with it remains (``MultiFernet.rotate``)."""

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from core.config import Settings
from core.errors import AppError


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
        raw = settings.encryption_keys.get_secret_value() if settings.encryption_keys else ""
        return cls([key.strip() for key in raw.split(",") if key.strip()])

    def _require(self) -> MultiFernet:
        if self._fernet is None:
            raise EncryptionUnavailable(
                "This server has no encryption key configured (FIRMFLOW_ENCRYPTION_KEYS), "
                "so it cannot store two-factor secrets"
            )
        return self._fernet

    def encrypt(self, plaintext: str) -> str:
        return self._require().encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        try:
            return self._require().decrypt(ciphertext.encode()).decode()
        except InvalidToken as exc:
            # Not a client error: the key that encrypted this was removed from the settings.
            raise RuntimeError("no configured encryption key decrypts this value") from exc
