"""The keys that seal signed PDFs: the platform's, and a firm's own.

The platform key lives in ``platform_signing_keys`` (global, only the system role reads it).
In production it is a PKCS#12 file the operator configures (``seal_pkcs12_path`` and
``seal_pkcs12_passphrase``): loaded at every start of the API and the worker, stored and made
the active key, the earlier ones kept (inactive) so the verifier still recognises what they
sealed. Without a configured file and with no key in the table, the first start generates a
self-signed EC P-256 certificate ("firmflow development seal", five years); a Postgres
advisory lock makes the API and the worker starting together generate one, not two.

A firm may upload its own certificate (``PUT /v1/firm/signing-certificate``); it then seals
that firm's envelopes instead of the platform's. Keys are stored as PKCS#8 PEM encrypted with
the server's cipher (core.crypto) and never leave the server."""

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.config import Settings
from core.crypto import Cipher, configured_keys
from core.db import SystemPurpose, system_scope
from core.errors import AppError, Unprocessable
from core.principal import Principal
from models import Firm, PlatformSigningKey
from services import audit

log = logging.getLogger(__name__)

DEVELOPMENT_SUBJECT = "firmflow development seal"
DEVELOPMENT_LIFETIME = timedelta(days=5 * 365)
# pg_advisory_xact_lock's key: "ffseal" in ASCII, any constant no other lock uses.
_GENERATION_LOCK = 0x666673_65616C
MAX_PKCS12_BYTES = 64 * 1024

SignatureKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


class InvalidCertificate(Unprocessable):
    title = "Unusable signing certificate"
    slug = "invalid-signing-certificate"


@dataclass(frozen=True)
class SealKey:
    """A certificate and its private key, in memory, ready to seal with."""

    certificate_pem: str
    key_pem: bytes
    fingerprint: str
    # None: the platform's key.
    firm_id: uuid.UUID | None = None


@dataclass(frozen=True)
class CertificateSummary:
    subject: str
    issuer: str
    fingerprint: str
    not_after: datetime


def fingerprint(certificate: x509.Certificate) -> str:
    return certificate.fingerprint(hashes.SHA256()).hex()


def summarize_pem(certificate_pem: str) -> CertificateSummary:
    certificate = x509.load_pem_x509_certificate(certificate_pem.encode())
    return CertificateSummary(
        subject=certificate.subject.rfc4514_string(),
        issuer=certificate.issuer.rfc4514_string(),
        fingerprint=fingerprint(certificate),
        not_after=certificate.not_valid_after_utc,
    )


def _pem(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def _key_pem(key: SignatureKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _public_der(key: Any) -> bytes:
    der: bytes = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return der


def _refused(detail: str, pointer: str = "/file") -> InvalidCertificate:
    return InvalidCertificate(detail, errors=[{"pointer": pointer, "detail": detail}])


def _check_usable(certificate: x509.Certificate, now: datetime) -> None:
    if certificate.not_valid_after_utc <= now:
        raise _refused("The certificate has expired")
    if certificate.not_valid_before_utc > now:
        raise _refused("The certificate is not valid yet")
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        # No KeyUsage extension means no restriction (RFC 5280, 4.2.1.3).
        return
    if not (usage.digital_signature or usage.content_commitment):
        raise _refused("The certificate may not be used for digital signatures")


def load_pkcs12(data: bytes, passphrase: str, *, now: datetime | None = None) -> SealKey:
    """The certificate and key of a PKCS#12 file, checked: it opens with ``passphrase``,
    holds an RSA or EC key matching its certificate, is valid now and allows signing."""
    try:
        key, certificate, _ = pkcs12.load_key_and_certificates(data, passphrase.encode() or None)
    except ValueError:
        # cryptography says the same for a wrong passphrase and for a damaged file.
        raise _refused(
            "The file is not a PKCS#12 bundle this passphrase opens", "/passphrase"
        ) from None
    if key is None or certificate is None:
        raise _refused("The bundle must hold a certificate and its private key")
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise _refused("The private key must be an RSA or EC key")
    if _public_der(key.public_key()) != _public_der(certificate.public_key()):
        raise _refused("The private key does not belong to the certificate")
    _check_usable(certificate, now or datetime.now(UTC))
    return SealKey(_pem(certificate), _key_pem(key), fingerprint(certificate))


def generate_development_key(now: datetime | None = None) -> SealKey:
    """A self-signed EC P-256 sealing certificate: EC rather than RSA-3072 because it is
    made in a millisecond at start, and ECDSA P-256 with SHA-256 is among the algorithms
    ETSI TS 119 312 recommends for PAdES."""
    key = ec.generate_private_key(ec.SECP256R1())
    start = (now or datetime.now(UTC)) - timedelta(minutes=5)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, DEVELOPMENT_SUBJECT),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "firmflow"),
        ]
    )
    usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=True,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + DEVELOPMENT_LIFETIME)
        .add_extension(usage, critical=True)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return SealKey(_pem(certificate), _key_pem(key), fingerprint(certificate))


def _configured(settings: Settings) -> SealKey | None:
    if settings.seal_pkcs12_path is None:
        return None
    passphrase = settings.seal_pkcs12_passphrase
    return load_pkcs12(
        settings.seal_pkcs12_path.read_bytes(),
        passphrase.get_secret_value() if passphrase else "",
    )


async def _store(session: AsyncSession, cipher: Cipher, key: SealKey, origin: str) -> None:
    await session.execute(update(PlatformSigningKey).values(active=False))
    existing = await session.scalar(
        select(PlatformSigningKey).where(PlatformSigningKey.fingerprint_sha256 == key.fingerprint)
    )
    if existing is not None:
        existing.active = True
    else:
        session.add(
            PlatformSigningKey(
                certificate_pem=key.certificate_pem,
                key_encrypted=cipher.encrypt(key.key_pem.decode()),
                fingerprint_sha256=key.fingerprint,
                origin=origin,
                active=True,
            )
        )
    await session.flush()


async def ensure_platform_key(session: AsyncSession, settings: Settings) -> None:
    """Make sure an active platform key exists (called at API and worker start, in a
    transaction the caller commits): the configured PKCS#12 becomes the active key;
    without one, a key is generated when the table has none. A server without encryption
    keys can store no key: it says so and seals nothing until it has them."""
    if not configured_keys(settings):
        log.warning("no encryption key configured: the platform sealing key is not set up")
        return
    cipher = Cipher.from_settings(settings)
    configured = _configured(settings)
    async with system_scope(session, SystemPurpose.platform_signing_key):
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _GENERATION_LOCK})
        active = await session.scalar(
            select(PlatformSigningKey).where(PlatformSigningKey.active.is_(True))
        )
        if configured is not None:
            if active is None or active.fingerprint_sha256 != configured.fingerprint:
                await _store(session, cipher, configured, "configured")
                log.info("configured sealing certificate %s is active", configured.fingerprint)
        elif active is None:
            generated = generate_development_key()
            await _store(session, cipher, generated, "generated")
            log.warning(
                "generated a self-signed sealing certificate %s; configure "
                "FIRMFLOW_SEAL_PKCS12_PATH in production (docs/esignature/seal.md)",
                generated.fingerprint,
            )


async def platform_fingerprints(session: AsyncSession) -> set[str]:
    """Every platform key's fingerprint, the retired ones too: what they sealed is still
    firmflow's."""
    async with system_scope(session, SystemPurpose.platform_signing_key):
        rows = await session.scalars(select(PlatformSigningKey.fingerprint_sha256))
        return set(rows)


class NoSealingKey(AppError):
    """No platform key and no firm key: the server started without encryption keys."""

    status = 503
    title = "Sealing unavailable"
    slug = "sealing-unavailable"


async def sealing_key(session: AsyncSession, cipher: Cipher, firm_id: uuid.UUID) -> SealKey:
    """The firm's own key when it has one, else the active platform key."""
    firm = await session.get_one(Firm, firm_id)
    if firm.signing_certificate_pem and firm.signing_key_encrypted:
        certificate = x509.load_pem_x509_certificate(firm.signing_certificate_pem.encode())
        return SealKey(
            firm.signing_certificate_pem,
            cipher.decrypt(firm.signing_key_encrypted).encode(),
            fingerprint(certificate),
            firm_id,
        )
    async with system_scope(session, SystemPurpose.platform_signing_key):
        row = await session.scalar(
            select(PlatformSigningKey).where(PlatformSigningKey.active.is_(True))
        )
    if row is None:
        raise NoSealingKey("This server has no sealing key yet; see docs/esignature/seal.md")
    return SealKey(
        row.certificate_pem, cipher.decrypt(row.key_encrypted).encode(), row.fingerprint_sha256
    )


def _audit_summary(certificate_pem: str | None) -> dict[str, Any] | None:
    if certificate_pem is None:
        return None
    summary = summarize_pem(certificate_pem)
    return {
        "subject": summary.subject,
        "fingerprint": summary.fingerprint,
        "not_after": summary.not_after.isoformat(),
    }


async def firm_certificate(
    session: AsyncSession, principal: Principal
) -> tuple[CertificateSummary, bool]:
    """The certificate that seals the firm's envelopes, and whether it is the firm's own
    (False: the platform's)."""
    firm = await session.get_one(Firm, principal.firm_id)
    if firm.signing_certificate_pem:
        return summarize_pem(firm.signing_certificate_pem), True
    async with system_scope(session, SystemPurpose.platform_signing_key):
        pem = await session.scalar(
            select(PlatformSigningKey.certificate_pem).where(PlatformSigningKey.active.is_(True))
        )
    if pem is None:
        raise NoSealingKey("This server has no sealing key yet; see docs/esignature/seal.md")
    return summarize_pem(pem), False


async def set_firm_certificate(
    session: AsyncSession, principal: Principal, cipher: Cipher, *, data: bytes, passphrase: str
) -> CertificateSummary:
    """Check and store the firm's PKCS#12 certificate; it seals the firm's next envelopes."""
    key = load_pkcs12(data, passphrase)
    firm = await session.get_one(Firm, principal.firm_id, with_for_update=True)
    before = _audit_summary(firm.signing_certificate_pem)
    firm.signing_certificate_pem = key.certificate_pem
    firm.signing_key_encrypted = cipher.encrypt(key.key_pem.decode())
    await session.flush()
    await audit.record(
        session,
        principal,
        action="firm.signing_certificate_set",
        record_type="firm",
        record_id=firm.id,
        before=before,
        after=_audit_summary(key.certificate_pem),
    )
    return summarize_pem(key.certificate_pem)


async def remove_firm_certificate(session: AsyncSession, principal: Principal) -> None:
    """Forget the firm's certificate and key; the platform's seals from now on. Removing
    none changes nothing (and records nothing)."""
    firm = await session.get_one(Firm, principal.firm_id, with_for_update=True)
    if firm.signing_certificate_pem is None:
        return
    before = _audit_summary(firm.signing_certificate_pem)
    firm.signing_certificate_pem = None
    firm.signing_key_encrypted = None
    await session.flush()
    await audit.record(
        session,
        principal,
        action="firm.signing_certificate_removed",
        record_type="firm",
        record_id=firm.id,
        before=before,
        after=None,
    )
