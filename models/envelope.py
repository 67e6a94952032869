"""E-signature: envelopes of library documents sent to recipients in a signing order.

An ``Envelope`` pins one version of each of its documents (``EnvelopeDocument``), names
its ``EnvelopeRecipient`` rows (signers, approvers and people who get a copy, in sequential
groups by ``routing_order``, parallel within a group) and the ``EnvelopeField`` rows each
signer fills, placed on a page by fractions of its width and height from the top-left
corner (so a placement does not depend on the size of the preview it was made on).
``EnvelopeEvent`` is the audit trail the certificate prints: every event with its time,
email, IP address and user agent. ``EnvelopeTemplate`` holds reusable documents, roles and
fields. ``EsignatureConnection`` is a firm's account at an outside provider (DocuSign,
Dropbox Sign), its secrets in the credentials vault. ``PlatformSigningKey`` is the
platform's sealing certificate (one generated on first start in development).
"""

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, IdMixin, TenantMixin, TimestampMixin, clock


class EnvelopeStatus(enum.StrEnum):
    draft = "draft"
    sent = "sent"
    completed = "completed"
    declined = "declined"
    expired = "expired"
    voided = "voided"


class RecipientRole(enum.StrEnum):
    signer = "signer"
    # Approves the documents without a signature field of their own.
    approver = "approver"
    # Gets a copy when the envelope completes; never waited for.
    cc = "cc"


class RecipientStatus(enum.StrEnum):
    # Waiting for an earlier group, or the envelope is a draft.
    created = "created"
    sent = "sent"
    viewed = "viewed"
    # For an approver: approved.
    signed = "signed"
    declined = "declined"


class FieldKind(enum.StrEnum):
    signature = "signature"
    initials = "initials"
    date_signed = "date_signed"
    text = "text"
    checkbox = "checkbox"


class ProviderName(enum.StrEnum):
    builtin = "builtin"
    docusign = "docusign"
    dropbox_sign = "dropbox_sign"


class EnvelopeEventKind(enum.StrEnum):
    created = "created"
    sent = "sent"
    # A recipient's group was reached: their signing email went out.
    delivered = "delivered"
    viewed = "viewed"
    consented = "consented"
    code_sent = "code_sent"
    code_verified = "code_verified"
    signed = "signed"
    declined = "declined"
    reminded = "reminded"
    recipient_corrected = "recipient_corrected"
    expiry_warning = "expiry_warning"
    expired = "expired"
    resent = "resent"
    voided = "voided"
    completed = "completed"
    sealed = "sealed"


def _values(enum_type: type[enum.StrEnum]) -> str:
    return ", ".join(f"'{member.value}'" for member in enum_type)


class EnvelopeTemplate(IdMixin, TenantMixin, TimestampMixin, Base):
    """Reusable documents, roles and fields; instantiated for a client, the roles filled from
    its contacts. ``roles`` is ``[{key, name, role, routing_order, require_code}]`` and
    ``fields`` is ``[{role_key, document_id, kind, page, x, y, width, height, required,
    label}]`` (the envelope's field shape with a role key in place of a recipient)."""

    __tablename__ = "envelope_templates"
    __table_args__ = (
        UniqueConstraint("firm_id", "name"),
        Index("ix_envelope_templates_firm_id_created_at_id", "firm_id", "created_at", "id"),
    )

    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))
    document_ids: Mapped[list[uuid.UUID]] = mapped_column(
        ARRAY(Uuid()), default=list, server_default=text("'{}'")
    )
    roles: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, default=list, server_default=text("'[]'")
    )
    fields: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, default=list, server_default=text("'[]'")
    )
    expiry_days: Mapped[int] = mapped_column(default=30, server_default=text("30"))
    reminder_first_days: Mapped[int] = mapped_column(default=2, server_default=text("2"))
    reminder_every_days: Mapped[int] = mapped_column(default=3, server_default=text("3"))
    reminder_max: Mapped[int] = mapped_column(default=5, server_default=text("5"))
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )


class Envelope(IdMixin, TenantMixin, TimestampMixin, Base):
    __tablename__ = "envelopes"
    __table_args__ = (
        CheckConstraint(f"status IN ({_values(EnvelopeStatus)})", name="status_known"),
        CheckConstraint(f"provider IN ({_values(ProviderName)})", name="provider_known"),
        # DocuSign's own ceiling; the default is 30.
        CheckConstraint("expiry_days BETWEEN 1 AND 120", name="expiry_days_bounded"),
        CheckConstraint("reminder_first_days BETWEEN 1 AND 60", name="reminder_first_bounded"),
        CheckConstraint("reminder_every_days BETWEEN 1 AND 60", name="reminder_every_bounded"),
        CheckConstraint("reminder_max BETWEEN 0 AND 20", name="reminder_max_bounded"),
        CheckConstraint("(status = 'voided') = (voided_at IS NOT NULL)", name="voided_has_time"),
        UniqueConstraint("firm_id", "provider", "provider_ref"),
        Index("ix_envelopes_firm_id_created_at_id", "firm_id", "created_at", "id"),
        Index("ix_envelopes_firm_id_status_created_at_id", "firm_id", "status", "created_at", "id"),
        Index(
            "ix_envelopes_firm_id_client_id_created_at_id",
            "firm_id",
            "client_id",
            "created_at",
            "id",
        ),
    )

    title: Mapped[str] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text, default="", server_default=text("''"))
    status: Mapped[str] = mapped_column(String(12), default=EnvelopeStatus.draft.value)
    provider: Mapped[str] = mapped_column(String(16), default=ProviderName.builtin.value)
    # The envelope's id at the outside provider; null for the built-in one.
    provider_ref: Mapped[str | None] = mapped_column(String(255))
    client_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("clients.id"))
    template_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("envelope_templates.id", ondelete="SET NULL")
    )
    expiry_days: Mapped[int] = mapped_column(default=30, server_default=text("30"))
    # Set when sent (and again by a re-send, which extends it).
    expires_at: Mapped[datetime | None]
    reminder_first_days: Mapped[int] = mapped_column(default=2, server_default=text("2"))
    reminder_every_days: Mapped[int] = mapped_column(default=3, server_default=text("3"))
    reminder_max: Mapped[int] = mapped_column(default=5, server_default=text("5"))
    # 1 once sent, +1 per re-send: the workflow's start and the outbox keys carry it.
    send_round: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    sent_at: Mapped[datetime | None]
    sent_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    completed_at: Mapped[datetime | None]
    declined_at: Mapped[datetime | None]
    voided_at: Mapped[datetime | None]
    void_reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )


class EnvelopeDocument(IdMixin, TenantMixin, Base):
    """One library document in an envelope, its version pinned when it was added."""

    __tablename__ = "envelope_documents"
    __table_args__ = (
        UniqueConstraint("envelope_id", "position"),
        UniqueConstraint("envelope_id", "document_id"),
        Index("ix_envelope_documents_firm_id_document_id", "firm_id", "document_id"),
    )

    envelope_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("envelopes.id", ondelete="CASCADE"))
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("documents.id"))
    version_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("document_versions.id"))
    position: Mapped[int]
    # The pinned version's SHA-256: the certificate prints it as the hash before signing.
    original_sha256: Mapped[str] = mapped_column(String(64))
    page_count: Mapped[int]
    # [[width, height], ...] in PDF points, one per page: the builder and the signing page
    # lay fields out on them without opening the file.
    page_sizes: Mapped[list[list[float]]] = mapped_column(JSONB)
    # The sealed result, stored as a new version of the document.
    signed_version_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("document_versions.id", ondelete="SET NULL")
    )
    signed_sha256: Mapped[str | None] = mapped_column(String(64))


class EnvelopeRecipient(IdMixin, TenantMixin, TimestampMixin, Base):
    __tablename__ = "envelope_recipients"
    __table_args__ = (
        CheckConstraint(f"role IN ({_values(RecipientRole)})", name="role_known"),
        CheckConstraint(f"status IN ({_values(RecipientStatus)})", name="status_known"),
        CheckConstraint("routing_order >= 1", name="routing_order_positive"),
        CheckConstraint(
            "signature_kind IS NULL OR signature_kind IN ('typed', 'drawn')",
            name="signature_kind_known",
        ),
        Index("ix_envelope_recipients_firm_id_envelope_id", "firm_id", "envelope_id"),
        UniqueConstraint("firm_id", "envelope_id", "provider_recipient_id"),
    )

    envelope_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("envelopes.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(12), default=RecipientRole.signer.value)
    # Groups sign in ascending order; recipients of one group in parallel.
    routing_order: Mapped[int] = mapped_column(default=1, server_default=text("1"))
    status: Mapped[str] = mapped_column(String(12), default=RecipientStatus.created.value)
    contact_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL")
    )
    # The template role this recipient fills, if the envelope came from a template.
    template_role: Mapped[str | None] = mapped_column(String(100))
    # A one-time code by email before the documents open.
    require_code: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # Signed into every signing link; a correction of the email bumps it, so the links
    # sent to the wrong address stop working.
    link_version: Mapped[int] = mapped_column(default=1, server_default=text("1"))
    sent_at: Mapped[datetime | None]
    viewed_at: Mapped[datetime | None]
    consented_at: Mapped[datetime | None]
    code_verified_at: Mapped[datetime | None]
    signed_at: Mapped[datetime | None]
    declined_at: Mapped[datetime | None]
    decline_reason: Mapped[str | None] = mapped_column(Text)
    # The one-time code, hashed; a few wrong tries use it up.
    code_hash: Mapped[str | None] = mapped_column(String(128))
    code_expires_at: Mapped[datetime | None]
    code_attempts: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    signature_kind: Mapped[str | None] = mapped_column(String(8))
    # Typed signatures: the name as typed, rendered in a script font when sealed.
    signature_text: Mapped[str | None] = mapped_column(String(200))
    # Drawn signatures and initials: PNG bytes, bounded by the API.
    signature_image: Mapped[bytes | None] = mapped_column(LargeBinary)
    initials_text: Mapped[str | None] = mapped_column(String(20))
    initials_image: Mapped[bytes | None] = mapped_column(LargeBinary)
    reminders_sent: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    last_reminded_at: Mapped[datetime | None]
    # The recipient's id at the outside provider.
    provider_recipient_id: Mapped[str | None] = mapped_column(String(255))


class EnvelopeField(IdMixin, TenantMixin, Base):
    __tablename__ = "envelope_fields"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_values(FieldKind)})", name="kind_known"),
        CheckConstraint("page >= 1", name="page_positive"),
        CheckConstraint(
            "x >= 0 AND y >= 0 AND width > 0 AND height > 0 AND x + width <= 1 AND y + height <= 1",
            name="on_the_page",
        ),
        Index("ix_envelope_fields_firm_id_envelope_id", "firm_id", "envelope_id"),
    )

    envelope_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("envelopes.id", ondelete="CASCADE"))
    recipient_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("envelope_recipients.id", ondelete="CASCADE")
    )
    envelope_document_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("envelope_documents.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(12))
    page: Mapped[int]
    # Fractions of the page's width and height, from its top-left corner.
    x: Mapped[float] = mapped_column(Float)
    y: Mapped[float] = mapped_column(Float)
    width: Mapped[float] = mapped_column(Float)
    height: Mapped[float] = mapped_column(Float)
    required: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    label: Mapped[str | None] = mapped_column(String(200))
    # Text as typed, 'true'/'false' for a checkbox, the date for date_signed; signatures
    # and initials come from the recipient.
    value: Mapped[str | None] = mapped_column(Text)
    filled_at: Mapped[datetime | None]


class EnvelopeEvent(IdMixin, TenantMixin, Base):
    """The audit trail: append-only, one row per thing that happened to an envelope."""

    __tablename__ = "envelope_events"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_values(EnvelopeEventKind)})", name="kind_known"),
        # A provider's webhook delivered twice is recorded once.
        UniqueConstraint("firm_id", "envelope_id", "provider_event_id"),
        Index(
            "ix_envelope_events_firm_id_envelope_id_occurred_at_id",
            "firm_id",
            "envelope_id",
            "occurred_at",
            "id",
        ),
    )

    envelope_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("envelopes.id", ondelete="CASCADE"))
    recipient_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("envelope_recipients.id", ondelete="SET NULL")
    )
    kind: Mapped[str] = mapped_column(String(24))
    occurred_at: Mapped[datetime] = mapped_column(server_default=clock())
    # Who: the recipient's email, or the staff member's for staff actions.
    email: Mapped[str | None] = mapped_column(String(320))
    ip_address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(500))
    # builtin, docusign, dropbox_sign, staff or system.
    source: Mapped[str] = mapped_column(String(16), default="system")
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default=text("'{}'"))
    provider_event_id: Mapped[str | None] = mapped_column(String(255))


class EsignatureConnection(IdMixin, TenantMixin, TimestampMixin, Base):
    """A firm's account at an outside provider. The secrets (DocuSign's access token and
    Connect HMAC key, Dropbox Sign's API key) are a credential's JSON value."""

    __tablename__ = "esignature_connections"
    __table_args__ = (
        UniqueConstraint("firm_id", "provider"),
        CheckConstraint("provider IN ('docusign', 'dropbox_sign')", name="provider_known"),
    )

    provider: Mapped[str] = mapped_column(String(16))
    credential_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("credentials.id", ondelete="SET NULL")
    )
    account_id: Mapped[str | None] = mapped_column(String(255))
    # The provider's API base (the loopback fake in tests, a sandbox or production host).
    base_url: Mapped[str] = mapped_column(String(500))


class PlatformSigningKey(IdMixin, Base):
    """The platform's sealing certificate and its key (encrypted with the server's keys).
    Global, not a firm's: it seals for every firm without a certificate of its own."""

    __tablename__ = "platform_signing_keys"

    certificate_pem: Mapped[str] = mapped_column(Text)
    key_encrypted: Mapped[str] = mapped_column(Text)
    fingerprint_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    # Generated on first start (development) or configured (production).
    origin: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    created_at: Mapped[datetime] = mapped_column(server_default=clock())
