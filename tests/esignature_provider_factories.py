"""Test data for envelopes sent through DocuSign or Dropbox Sign: small PDFs of known page
sizes, an envelope already sent (as the envelopes service leaves it: status sent, its
documents pinned, its recipients and fields), a vault credential of the provider's secrets
and the firm's connection to the provider's loopback server."""

import functools
import io
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import SecretStr
from pypdf import PdfWriter
from sqlalchemy.ext.asyncio import AsyncSession

from core.crypto import Cipher
from core.db import scope_to_firm
from models import (
    Envelope,
    EnvelopeDocument,
    EnvelopeField,
    EnvelopeRecipient,
    EnvelopeStatus,
    Firm,
    RecipientStatus,
)
from providers.storage import Storage
from services import credentials
from services.documents import blobs, documents
from services.esignature import connections
from services.esignature.connections import ConnectedProvider
from services.esignature.pages import pdf_layout
from tests.factories import Actor, principal_of

A4 = (595.28, 841.89)
LETTER = (612.0, 792.0)
ACCOUNT_ID = "8f3c1a2e-5b6d-4e7f-9a0b-1c2d3e4f5a6b"
ACCESS_TOKEN = "eyJ0eXAiOiJNVCIsImFsZyI6IlJTMjU2In0.fake-docusign-token"
HMAC_KEY = "Gq3lPq4i8ZyvH0sT2wN7xR5kY1mB6cJ9dF0aE3uV8s="
DROPBOX_SIGN_KEY = "c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5"


@functools.cache
def blank_pdf(*sizes: tuple[float, float], title: str = "letter") -> bytes:
    """A PDF of blank pages of ``sizes`` (points), its title in the metadata."""
    writer = PdfWriter()
    for width, height in sizes:
        writer.add_blank_page(width=width, height=height)
    writer.add_metadata({"/Title": title})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data


@dataclass(frozen=True)
class Party:
    name: str
    email: str
    role: str = "signer"
    routing_order: int = 1


TWO_IN_SEQUENCE = (
    Party("Ada Lovelace", "ada@example.com", routing_order=1),
    Party("Grace Hopper", "grace@example.com", routing_order=2),
    Party("Charles Babbage", "charles@example.com", role="cc", routing_order=2),
)


async def _pinned_document(
    session: AsyncSession,
    storage: Storage,
    actor: Actor,
    envelope: Envelope,
    position: int,
    data: bytes,
) -> EnvelopeDocument:
    firm = await session.get_one(Firm, actor.firm.id)
    blob = await blobs.store_upload(session, storage, firm, _one(data), declared_name="a.pdf")
    document = await documents.create_document(
        session,
        principal_of(actor),
        fields=documents.DocumentFields(title=f"Letter {position}"),
        blob=blob,
        file_name=f"letter-{position}.pdf",
        note=None,
    )
    assert document.current_version_id is not None
    page_count, page_sizes = pdf_layout(data)
    row = EnvelopeDocument(
        firm_id=actor.firm.id,
        envelope_id=envelope.id,
        document_id=document.id,
        version_id=document.current_version_id,
        position=position,
        original_sha256=blob.sha256,
        page_count=page_count,
        page_sizes=page_sizes,
    )
    session.add(row)
    await session.flush()
    return row


async def _recipient(
    session: AsyncSession,
    actor: Actor,
    envelope: Envelope,
    party: Party,
    rows: list[EnvelopeDocument],
) -> None:
    """The recipient; a signer gets a signature on the first page of the first document and
    a date on the last page of the last."""
    recipient = EnvelopeRecipient(
        firm_id=actor.firm.id,
        envelope_id=envelope.id,
        name=party.name,
        email=party.email,
        role=party.role,
        routing_order=party.routing_order,
        status=RecipientStatus.sent.value,
    )
    session.add(recipient)
    await session.flush()
    if party.role != "signer":
        return
    first, last = rows[0], rows[-1]
    for row, kind, page, top in (
        (first, "signature", 1, 0.7 + 0.1 * (party.routing_order - 1)),
        (last, "date_signed", last.page_count, 0.5),
    ):
        session.add(
            EnvelopeField(
                firm_id=actor.firm.id,
                envelope_id=envelope.id,
                recipient_id=recipient.id,
                envelope_document_id=row.id,
                kind=kind,
                page=page,
                x=0.1,
                y=top,
                width=0.3,
                height=0.05,
            )
        )


async def sent_envelope(
    session: AsyncSession,
    storage: Storage,
    actor: Actor,
    *,
    provider: str,
    parties: Sequence[Party] = TWO_IN_SEQUENCE,
    pdfs: Sequence[bytes] | None = None,
) -> Envelope:
    """An envelope as the envelopes service leaves it when sent through ``provider``: a
    signature on the first page of the first document and a date on the last page of the
    last for each signer, before the provider was called."""
    await scope_to_firm(session, actor.firm.id)
    now = datetime.now(UTC)
    envelope = Envelope(
        firm_id=actor.firm.id,
        title="Engagement letter 2026",
        message="Please sign the engagement letter.",
        status=EnvelopeStatus.sent.value,
        provider=provider,
        expiry_days=30,
        expires_at=now + timedelta(days=30),
        send_round=1,
        sent_at=now,
        sent_by=actor.user.id,
    )
    session.add(envelope)
    await session.flush()
    contents = pdfs or [blank_pdf(A4, LETTER)]
    rows = [
        await _pinned_document(session, storage, actor, envelope, position, data)
        for position, data in enumerate(contents)
    ]
    for party in parties:
        await _recipient(session, actor, envelope, party, rows)
    await session.flush()
    return envelope


async def connect(
    session: AsyncSession,
    actor: Actor,
    cipher: Cipher,
    *,
    provider: ConnectedProvider,
    base_url: str,
    secrets: dict[str, Any],
    account_id: str | None = None,
) -> uuid.UUID:
    """The firm's connection to ``provider`` (a credential of ``secrets`` first); the
    credential's id."""
    await scope_to_firm(session, actor.firm.id)
    credential = await credentials.create_credential(
        session,
        principal_of(actor),
        cipher,
        fields=credentials.CredentialFields(
            name=f"{provider}_{uuid.uuid4().hex[:6]}", value=SecretStr(json.dumps(secrets))
        ),
    )
    await connections.save_connection(
        session,
        principal_of(actor),
        cipher,
        provider,
        fields=connections.ConnectionFields(
            credential_id=credential.id, account_id=account_id, base_url=base_url
        ),
    )
    return credential.id


def docusign_secrets(*keys: str) -> dict[str, Any]:
    return {"access_token": ACCESS_TOKEN, "hmac_keys": list(keys or (HMAC_KEY,))}


def dropbox_sign_secrets() -> dict[str, Any]:
    return {"api_key": DROPBOX_SIGN_KEY}
