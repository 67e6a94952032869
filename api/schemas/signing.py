"""The public signing page's API: what a recipient sees and sends. The sign request is
the service's own rule (services/esignature/signing_submit.SignFields)."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from models import EnvelopeStatus, FieldKind, RecipientRole, RecipientStatus
from services.esignature.signing import MAX_DECLINE_REASON, SigningView
from services.esignature.signing_submit import SignFields


class SigningEnvelope(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    message: str
    status: EnvelopeStatus
    expires_at: datetime | None


class SigningFirm(BaseModel):
    name: str


class SigningRecipient(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    email: str
    role: RecipientRole
    status: RecipientStatus


class SigningDocument(BaseModel):
    id: uuid.UUID = Field(description="The envelope document's id (pages are fetched by it).")
    title: str
    page_count: int
    page_sizes: list[list[float]] = Field(description="[width, height] in PDF points per page.")


class SigningField(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    envelope_document_id: uuid.UUID
    kind: FieldKind
    page: int
    x: float = Field(description="Fraction of the page's width from its left edge.")
    y: float = Field(description="Fraction of the page's height from its top edge.")
    width: float
    height: float
    required: bool
    label: str | None
    value: str | None


class SigningViewRead(BaseModel):
    """One recipient's part of an envelope, as their signing link opens it."""

    envelope: SigningEnvelope
    firm: SigningFirm
    recipient: SigningRecipient
    needs_consent: bool = Field(description="Consent (POST …/consent) comes first.")
    needs_code: bool = Field(description="A one-time code by email is to be verified.")
    can_sign: bool = Field(
        description="Their group's turn, not yet signed or declined, the envelope out."
    )
    disclosure: str = Field(description="The ESIGN/UETA consumer disclosure to consent to.")
    disclosure_version: str
    documents: list[SigningDocument]
    fields: list[SigningField] = Field(description="This recipient's fields only.")

    @classmethod
    def of(cls, view: SigningView) -> "SigningViewRead":
        return cls(
            envelope=SigningEnvelope.model_validate(view.envelope),
            firm=SigningFirm(name=view.firm_name),
            recipient=SigningRecipient.model_validate(view.recipient),
            needs_consent=view.needs_consent,
            needs_code=view.needs_code,
            can_sign=view.can_sign,
            disclosure=view.disclosure,
            disclosure_version=view.disclosure_version,
            documents=[
                SigningDocument(
                    id=document.id,
                    title=title,
                    page_count=document.page_count,
                    page_sizes=document.page_sizes,
                )
                for document, title in view.documents
            ],
            fields=[SigningField.model_validate(field) for field in view.fields],
        )


class ConsentCreate(BaseModel):
    """Consent to sign electronically under the disclosure shown."""

    model_config = ConfigDict(extra="forbid")

    accepted: Literal[True]


class CodeSentRead(BaseModel):
    sent_to: str = Field(description="The recipient's address, masked (a***@example.com).")
    expires_at: datetime


class CodeVerify(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[0-9]{6}$", description="The six digits emailed.")


class SignCreate(SignFields):
    """Sign: the recipient's text and checkbox fields (checkboxes ``"true"``/``"false"``),
    their signature (typed or a drawn PNG, base64) and initials when they have initials
    fields. Approvers send neither. Signature, initials and date fields take no value."""


class DeclineCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=MAX_DECLINE_REASON)
