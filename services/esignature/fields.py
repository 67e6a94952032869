"""The fields of a draft, replaced all at once (the builder saves its whole layout).

A field is placed by fractions of its page from the top-left corner, so the checks need
only the page count: the page exists, the box lies on the page, the recipient and the
document are the envelope's, signatures and initials belong to signers, and people who get
a copy fill nothing."""

import uuid
from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import Unprocessable
from core.principal import Principal
from models import (
    Envelope,
    EnvelopeDocument,
    EnvelopeField,
    EnvelopeRecipient,
    FieldKind,
    RecipientRole,
)
from services import audit
from services.esignature import state
from services.esignature.repository import ENVELOPE_DOCUMENTS, FIELDS, RECIPIENTS

MAX_FIELDS = 500
# Only a signer puts their signature or initials on a document.
SIGNER_KINDS = frozenset({FieldKind.signature, FieldKind.initials})

Fraction = Annotated[float, Field(ge=0, le=1)]
Extent = Annotated[float, Field(gt=0, le=1)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


class FieldSpec(BaseModel):
    """A field on a page: ``x``, ``y`` from the page's top-left corner and ``width``,
    ``height``, all as fractions of the page's width and height."""

    model_config = ConfigDict(extra="forbid")

    recipient_id: uuid.UUID
    envelope_document_id: uuid.UUID
    kind: FieldKind
    page: Annotated[int, Field(ge=1, le=10_000)]
    x: Fraction
    y: Fraction
    width: Extent
    height: Extent
    required: bool = True
    label: Label | None = None


class FieldLayout(BaseModel):
    """Every field of the envelope; what is not listed is removed."""

    model_config = ConfigDict(extra="forbid")

    fields: list[FieldSpec] = Field(max_length=MAX_FIELDS)


def field_problems(
    specs: Sequence[FieldSpec],
    recipients: dict[uuid.UUID, str],
    page_counts: dict[uuid.UUID, int],
    *,
    prefix: str = "/fields",
) -> list[dict[str, str]]:
    """Each bad field's problem with its pointer: ``recipients`` maps the envelope's
    recipient ids to their roles, ``page_counts`` its documents' ids to their pages."""
    problems: list[dict[str, str]] = []

    def bad(index: int, member: str, detail: str) -> None:
        problems.append({"pointer": f"{prefix}/{index}/{member}", "detail": detail})

    for index, spec in enumerate(specs):
        role = recipients.get(spec.recipient_id)
        if role is None:
            bad(index, "recipient_id", "not a recipient of this envelope")
        elif role == RecipientRole.cc:
            bad(index, "recipient_id", "a recipient who gets a copy fills no fields")
        elif spec.kind in SIGNER_KINDS and role != RecipientRole.signer:
            bad(index, "kind", f"only signers have {spec.kind.value} fields")
        pages = page_counts.get(spec.envelope_document_id)
        if pages is None:
            bad(index, "envelope_document_id", "not a document of this envelope")
        elif spec.page > pages:
            bad(index, "page", f"the document has {pages} page{'s' if pages != 1 else ''}")
        if spec.x + spec.width > 1:
            bad(index, "width", "the field runs off the right edge of the page")
        if spec.y + spec.height > 1:
            bad(index, "height", "the field runs off the bottom of the page")
    return problems


def raise_problems(problems: list[dict[str, str]]) -> None:
    if problems:
        detail = " ".join(f"{p['pointer'].lstrip('/')}: {p['detail']}." for p in problems[:10])
        raise Unprocessable(detail, errors=problems)


async def envelope_parts(
    session: AsyncSession, principal: Principal, envelope: Envelope
) -> tuple[dict[uuid.UUID, str], dict[uuid.UUID, int]]:
    """The envelope's recipients by id (their roles) and documents by id (page counts)."""
    recipients = await session.execute(
        RECIPIENTS.select(principal)
        .with_only_columns(EnvelopeRecipient.id, EnvelopeRecipient.role)
        .where(EnvelopeRecipient.envelope_id == envelope.id)
    )
    documents = await session.execute(
        ENVELOPE_DOCUMENTS.select(principal)
        .with_only_columns(EnvelopeDocument.id, EnvelopeDocument.page_count)
        .where(EnvelopeDocument.envelope_id == envelope.id)
    )
    return dict(recipients.tuples().all()), dict(documents.tuples().all())


def field_values(firm_id: uuid.UUID, envelope_id: uuid.UUID, spec: FieldSpec) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "firm_id": firm_id,
        "envelope_id": envelope_id,
        **spec.model_dump(mode="json"),
    }


async def replace_fields(
    session: AsyncSession, principal: Principal, envelope_id: uuid.UUID, layout: FieldLayout
) -> Envelope:
    envelope = await state.locked_draft(session, principal, envelope_id, "changed")
    recipients, page_counts = await envelope_parts(session, principal, envelope)
    raise_problems(field_problems(layout.fields, recipients, page_counts))
    await session.execute(
        delete(EnvelopeField).where(
            FIELDS.owned_by(principal), EnvelopeField.envelope_id == envelope.id
        )
    )
    if layout.fields:
        await session.execute(
            insert(EnvelopeField),
            [field_values(principal.firm_id, envelope.id, spec) for spec in layout.fields],
        )
    await state.touch(session, envelope)
    await audit.record(
        session,
        principal,
        action="envelope.fields_replaced",
        record_type="envelope",
        record_id=envelope.id,
        after={"fields": len(layout.fields)},
    )
    return envelope
