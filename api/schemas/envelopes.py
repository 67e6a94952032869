"""Envelopes: the request bodies are the services' field rules; the answers an envelope
with its documents, recipients (never their codes or signature images) and fields, and
its trail."""

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from models import (
    EnvelopeStatus,
    FieldKind,
    ProviderName,
    RecipientRole,
    RecipientStatus,
)
from services.esignature.envelopes import Detailed, EnvelopeFields, EnvelopePatch
from services.esignature.fields import FieldLayout
from services.esignature.lifecycle import ResendRequest, VoidRequest
from services.esignature.recipients import RecipientPatch
from services.esignature.state import RecipientFields


class EnvelopeCreate(EnvelopeFields):
    """A new draft. Each document must be the firm's, not in the bin, its current version
    a PDF (pinned: later versions do not change the envelope); a 422 points at the bad one
    (``/document_ids/<i>``)."""


class EnvelopeUpdate(EnvelopePatch):
    """A draft's details; only the members sent change (a sent envelope: 409)."""


class RecipientCreate(RecipientFields):
    """A recipient of a draft."""


class RecipientUpdate(RecipientPatch):
    """A draft's recipient, any member; once the envelope was sent, only ``name`` and
    ``email`` (a correction, until the recipient signed or declined)."""


class FieldsUpdate(FieldLayout):
    """The envelope's whole field layout (a draft's); each bad field is a 422 pointing at
    it (``/fields/<i>/<member>``)."""


class VoidBody(VoidRequest):
    """Why the envelope is voided; the recipients are told."""


class ResendBody(ResendRequest):
    """An expired envelope sent again."""


class DocumentAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    document_id: uuid.UUID


class DownloadRequest(BaseModel):
    """``original``: the version the envelope pinned; ``signed``: the sealed result (once
    the envelope completed)."""

    model_config = ConfigDict(extra="forbid")

    variant: Literal["original", "signed"] = "original"


class EnvelopeDocumentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    document_id: uuid.UUID
    title: str
    version_id: uuid.UUID
    position: int
    original_sha256: str
    page_count: int
    page_sizes: list[list[float]] = Field(description="[width, height] in PDF points per page.")
    signed_version_id: uuid.UUID | None
    signed_sha256: str | None


class RecipientRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    email: str
    role: RecipientRole
    routing_order: int
    status: RecipientStatus
    contact_id: uuid.UUID | None
    template_role: str | None
    require_code: bool
    link_version: int
    sent_at: datetime | None
    viewed_at: datetime | None
    consented_at: datetime | None
    code_verified_at: datetime | None
    signed_at: datetime | None
    declined_at: datetime | None
    decline_reason: str | None
    signature_kind: Literal["typed", "drawn"] | None
    has_signature: bool
    reminders_sent: int
    last_reminded_at: datetime | None
    provider_recipient_id: str | None
    created_at: datetime
    updated_at: datetime


class FieldRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    recipient_id: uuid.UUID
    envelope_document_id: uuid.UUID
    kind: FieldKind
    page: int
    x: float
    y: float
    width: float
    height: float
    required: bool
    label: str | None
    value: str | None
    filled_at: datetime | None


class EnvelopeSummary(BaseModel):
    """An envelope as the list shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    status: EnvelopeStatus
    provider: ProviderName
    client_id: uuid.UUID | None
    template_id: uuid.UUID | None
    expiry_days: int
    expires_at: datetime | None
    reminder_first_days: int
    reminder_every_days: int
    reminder_max: int
    send_round: int
    sent_at: datetime | None
    completed_at: datetime | None
    declined_at: datetime | None
    voided_at: datetime | None
    created_at: datetime
    updated_at: datetime


class EnvelopeRead(EnvelopeSummary):
    message: str
    provider_ref: str | None
    void_reason: str | None
    sent_by: uuid.UUID | None
    created_by: uuid.UUID | None
    documents: list[EnvelopeDocumentRead]
    recipients: list[RecipientRead]
    fields: list[FieldRead]


class EnvelopeEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: str
    occurred_at: datetime
    recipient_id: uuid.UUID | None
    email: str | None
    ip_address: str | None
    user_agent: str | None
    source: str
    detail: dict[str, Any]


def recipient_read(recipient: Any) -> RecipientRead:
    has = recipient.signature_text is not None or recipient.signature_image is not None
    data = {
        name: getattr(recipient, name)
        for name in RecipientRead.model_fields
        if name != "has_signature"
    }
    return RecipientRead.model_validate({**data, "has_signature": has})


def envelope_read(found: Detailed) -> EnvelopeRead:
    envelope = found.envelope
    data = {
        name: getattr(envelope, name)
        for name in EnvelopeRead.model_fields
        if name not in ("documents", "recipients", "fields")
    }
    documents = [
        EnvelopeDocumentRead.model_validate(
            {
                **{
                    name: getattr(pinned.row, name)
                    for name in EnvelopeDocumentRead.model_fields
                    if name != "title"
                },
                "title": pinned.title,
            }
        )
        for pinned in found.documents
    ]
    return EnvelopeRead.model_validate(
        {
            **data,
            "documents": documents,
            "recipients": [recipient_read(r) for r in found.recipients],
            "fields": [FieldRead.model_validate(f) for f in found.fields],
        }
    )
