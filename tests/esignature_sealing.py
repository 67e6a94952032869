"""Sealing test data without the workflow: a completed envelope set up through the models
and services (its recipients signed, its fields filled, a trail with addresses and
browsers), the platform key made once per test session, and PKCS#12 bundles to upload."""

import hashlib
import io
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from PIL import Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.config import Settings
from core.db import scope_to_firm
from core.principal import Principal
from models import (
    DocumentBlob,
    DocumentVersion,
    Envelope,
    EnvelopeDocument,
    EnvelopeEventKind,
    EnvelopeField,
    EnvelopeRecipient,
    PlatformSigningKey,
)
from providers.storage import Storage
from services.documents import documents
from services.esignature import trail
from services.esignature.pages import pdf_layout
from services.esignature.sealing_keys import ensure_platform_key
from tests.esignature_factories import sample_pdf
from tests.factories import Actor

ADA_UA = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"
GRACE_UA = "Mozilla/5.0 (Macintosh) Safari/18.0"
TAX_YEAR = "Tax year 2026"
PASSPHRASE = "s3cret"


@pytest.fixture(scope="session")
async def platform_key(
    settings: Settings, committing_sessionmaker: async_sessionmaker[AsyncSession]
) -> PlatformSigningKey:
    """The test database's active platform key, generated (committed) once per session."""
    async with committing_sessionmaker() as session, session.begin():
        await ensure_platform_key(session, settings)
    async with committing_sessionmaker() as session:
        return await active_platform_key(session)


async def active_platform_key(session: AsyncSession) -> PlatformSigningKey:
    from core.db import SystemPurpose, system_scope

    async with system_scope(session, SystemPurpose.platform_signing_key):
        key = await session.scalar(
            select(PlatformSigningKey).where(PlatformSigningKey.active.is_(True))
        )
    assert key is not None
    return key


def drawn_png() -> bytes:
    image = Image.new("RGBA", (60, 20), (0, 0, 0, 0))
    for x in range(5, 55):
        image.putpixel((x, 10 + (x % 6) - 3), (10, 20, 90, 255))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


@dataclass(frozen=True)
class Completed:
    envelope: Envelope
    envelope_document: EnvelopeDocument
    pinned: DocumentVersion


async def _recipients(session: AsyncSession, envelope: Envelope) -> list[EnvelopeRecipient]:
    signed_at = datetime.now(UTC)
    ada = EnvelopeRecipient(
        firm_id=envelope.firm_id,
        envelope_id=envelope.id,
        name="Ada Lovelace",
        email="ada@example.com",
        role="signer",
        routing_order=1,
        status="signed",
        signed_at=signed_at - timedelta(minutes=5),
        signature_kind="typed",
        signature_text="Ada Lovelace",
    )
    grace = EnvelopeRecipient(
        firm_id=envelope.firm_id,
        envelope_id=envelope.id,
        name="Grace Hopper",
        email="grace@example.com",
        role="signer",
        routing_order=2,
        status="signed",
        signed_at=signed_at,
        signature_kind="drawn",
        signature_image=drawn_png(),
    )
    session.add_all([ada, grace])
    await session.flush()
    return [ada, grace]


def _fields(
    envelope_document: EnvelopeDocument, ada: EnvelopeRecipient, grace: EnvelopeRecipient
) -> list[EnvelopeField]:
    base = {"firm_id": envelope_document.firm_id, "envelope_id": envelope_document.envelope_id}
    placed = [
        (ada, "signature", 0.1, 0.6, None),
        (ada, "date_signed", 0.55, 0.6, None),
        (ada, "text", 0.1, 0.1, TAX_YEAR),
        (ada, "checkbox", 0.1, 0.2, "true"),
        (grace, "signature", 0.1, 0.75, None),
        (grace, "initials", 0.55, 0.75, None),
    ]
    return [
        EnvelopeField(
            **base,
            recipient_id=recipient.id,
            envelope_document_id=envelope_document.id,
            kind=kind,
            page=1,
            x=x,
            y=y,
            width=0.3,
            height=0.05,
            value=value,
            filled_at=recipient.signed_at,
        )
        for recipient, kind, x, y, value in placed
    ]


async def completed_envelope(
    session: AsyncSession,
    storage: Storage,
    actor: Actor,
    *,
    content: bytes | None = None,
    title: str = "Engagement letter 2026",
) -> Completed:
    """A completed built-in envelope of one library document (``content``, by default a
    one-page :func:`sample_pdf`) that Ada (typed) and then Grace (drawn) signed."""
    firm_id = actor.firm.id
    await scope_to_firm(session, firm_id)
    principal = Principal.system(firm_id)
    data = content if content is not None else sample_pdf(1)
    blob = await documents.upload(session, principal, storage, _chunks(data), declared_name="l.pdf")
    document = await documents.create_document(
        session,
        principal,
        fields=documents.DocumentFields(title="Engagement letter"),
        blob=blob,
        file_name="letter.pdf",
        note=None,
    )
    assert document.current_version_id is not None
    pinned = await session.get_one(DocumentVersion, document.current_version_id)
    now = datetime.now(UTC)
    envelope = Envelope(
        firm_id=firm_id,
        title=title,
        status="completed",
        send_round=1,
        sent_at=now - timedelta(hours=1),
        completed_at=now,
        expires_at=now + timedelta(days=29),
    )
    session.add(envelope)
    await session.flush()
    page_count, page_sizes = pdf_layout(data)
    envelope_document = EnvelopeDocument(
        firm_id=firm_id,
        envelope_id=envelope.id,
        document_id=document.id,
        version_id=pinned.id,
        position=1,
        original_sha256=pinned.sha256,
        page_count=page_count,
        page_sizes=page_sizes,
    )
    session.add(envelope_document)
    await session.flush()
    ada, grace = await _recipients(session, envelope)
    session.add_all(_fields(envelope_document, ada, grace))
    await session.flush()
    await trail.record_event(
        session,
        firm_id,
        envelope.id,
        EnvelopeEventKind.sent,
        email=actor.user.email,
        source="staff",
    )
    for recipient, address, agent in (
        (ada, "203.0.113.7", ADA_UA),
        (grace, "198.51.100.23", GRACE_UA),
    ):
        for kind in (
            EnvelopeEventKind.viewed,
            EnvelopeEventKind.consented,
            EnvelopeEventKind.signed,
        ):
            await trail.record_event(
                session,
                firm_id,
                envelope.id,
                kind,
                recipient=recipient,
                ip_address=address,
                user_agent=agent,
                source="builtin",
            )
    await trail.record_event(session, firm_id, envelope.id, EnvelopeEventKind.completed)
    await session.commit()
    return Completed(envelope, envelope_document, pinned)


async def stored_bytes(
    session: AsyncSession, storage: Storage, version_id: uuid.UUID
) -> tuple[DocumentVersion, DocumentBlob, bytes]:
    version = await session.get_one(DocumentVersion, version_id)
    blob = await session.get_one(DocumentBlob, version.blob_id)
    data = b"".join([chunk async for chunk in storage.read(blob.storage_key)])
    return version, blob, data


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def pkcs12_bundle(
    passphrase: str = PASSPHRASE,
    *,
    expired: bool = False,
    signing: bool = True,
    name: str = "Acme Accounting seal",
) -> bytes:
    """A PKCS#12 bundle of a new self-signed EC certificate and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    start, end = (
        (now - timedelta(days=400), now - timedelta(days=30))
        if expired
        else (now - timedelta(days=1), now + timedelta(days=365))
    )
    usage = x509.KeyUsage(
        digital_signature=signing,
        content_commitment=False,
        key_encipherment=not signing,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(usage, critical=True)
        .sign(key, hashes.SHA256())
    )
    return pkcs12.serialize_key_and_certificates(
        b"seal", key, certificate, None, serialization.BestAvailableEncryption(passphrase.encode())
    )
