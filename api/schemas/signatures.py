"""The firm's sealing certificate and the public verifier's answer."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class SigningCertificateRead(BaseModel):
    """The certificate that seals the firm's envelopes: its own, or the platform's when it
    uploaded none. The private key is never shown."""

    model_config = ConfigDict(from_attributes=True)

    source: Literal["firm", "platform"]
    subject: str
    issuer: str
    fingerprint: str = Field(description="SHA-256 of the certificate (DER), hex.")
    not_after: datetime


class VerifiedSigner(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    email: str
    signed_at: datetime


class SignerCertificateRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    subject: str
    fingerprint: str = Field(description="SHA-256 of the certificate (DER), hex.")


class VerificationRead(BaseModel):
    """What the uploaded PDF is. ``sealed``: it carries a digital signature; ``intact``:
    not a byte changed since it was sealed and nothing was added; ``firmflow``: sealed with
    a firmflow key (the platform's or the firm's recorded at sealing). The envelope is
    named when it is found; its signers are listed for an intact copy only. ``problems``
    says, in plain words, what is wrong (empty for an intact firmflow seal)."""

    model_config = ConfigDict(from_attributes=True)

    sealed: bool
    intact: bool
    firmflow: bool
    envelope_id: uuid.UUID | None = None
    envelope_title: str | None = None
    firm_name: str | None = None
    sealed_at: datetime | None = Field(
        default=None, description="The time the seal claims (the server's clock; no TSA)."
    )
    signer_certificate: SignerCertificateRead | None = None
    signers: list[VerifiedSigner]
    document_sha256: str
    problems: list[str]
