"""The fields of a draft, replaced all at once (the builder saves its whole layout).

A field is placed by fractions of its page from the top-left corner, so the checks need
only the page count: the page exists, the box lies on the page, the recipient and the
document are the envelope's, signatures and initials belong to signers, and people who get
a copy fill nothing."""

import uuid
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Protocol, TypeVar

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

P = TypeVar("P", bound="Placed")
K = TypeVar("K")
D = TypeVar("D")

Fraction = Annotated[float, Field(ge=0, le=1)]
Extent = Annotated[float, Field(gt=0, le=1)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
PageNumber = Annotated[int, Field(ge=1, le=10_000)]


class Placement(BaseModel):
    """A field's kind and place on a page: ``x``, ``y`` from the page's top-left corner and
    ``width``, ``height``, all as fractions of the page's width and height."""

    model_config = ConfigDict(extra="forbid")

    kind: FieldKind
    page: PageNumber
    x: Fraction
    y: Fraction
    width: Extent
    height: Extent
    required: bool = True
    label: Label | None = None


class FieldSpec(Placement):
    """A field one of the envelope's recipients fills on one of its documents."""

    recipient_id: uuid.UUID
    envelope_document_id: uuid.UUID


class FieldLayout(BaseModel):
    """Every field of the envelope; what is not listed is removed."""

    model_config = ConfigDict(extra="forbid")

    fields: list[FieldSpec] = Field(max_length=MAX_FIELDS)


class Placed(Protocol):
    """A field's kind and place, whoever fills it (an envelope's or a template's)."""

    @property
    def kind(self) -> FieldKind: ...

    @property
    def page(self) -> int: ...

    @property
    def x(self) -> float: ...

    @property
    def y(self) -> float: ...

    @property
    def width(self) -> float: ...

    @property
    def height(self) -> float: ...


def placement_problems(
    specs: Sequence[P],
    roles: dict[K, str],
    page_counts: dict[D, int],
    *,
    owner: tuple[str, Callable[[P], K]],
    document: tuple[str, Callable[[P], D]],
    prefix: str = "/fields",
    noun: str = "envelope",
) -> list[dict[str, str]]:
    """Each bad field's problem with its pointer: ``roles`` maps whoever may fill fields
    (recipient ids, template role keys) to their roles, ``page_counts`` the documents to
    their pages; ``owner`` and ``document`` name the member holding each and read it."""
    problems: list[dict[str, str]] = []
    owner_member, owner_of = owner
    document_member, document_of = document

    def bad(index: int, member: str, detail: str) -> None:
        problems.append({"pointer": f"{prefix}/{index}/{member}", "detail": detail})

    for index, spec in enumerate(specs):
        role = roles.get(owner_of(spec))
        if role is None:
            bad(index, owner_member, f"not a recipient of this {noun}")
        elif role == RecipientRole.cc:
            bad(index, owner_member, "a recipient who gets a copy fills no fields")
        elif spec.kind in SIGNER_KINDS and role != RecipientRole.signer:
            bad(index, "kind", f"only signers have {spec.kind.value} fields")
        pages = page_counts.get(document_of(spec))
        if pages is None:
            bad(index, document_member, f"not a document of this {noun}")
        elif spec.page > pages:
            bad(index, "page", f"the document has {pages} page{'s' if pages != 1 else ''}")
        if spec.x + spec.width > 1:
            bad(index, "width", "the field runs off the right edge of the page")
        if spec.y + spec.height > 1:
            bad(index, "height", "the field runs off the bottom of the page")
    return problems


def field_problems(
    specs: Sequence[FieldSpec],
    recipients: dict[uuid.UUID, str],
    page_counts: dict[uuid.UUID, int],
) -> list[dict[str, str]]:
    """:func:`placement_problems` of an envelope's fields."""
    return placement_problems(
        specs,
        recipients,
        page_counts,
        owner=("recipient_id", lambda spec: spec.recipient_id),
        document=("envelope_document_id", lambda spec: spec.envelope_document_id),
    )


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
    roles = {recipient_id: role for recipient_id, role in recipients}
    pages = {document_id: count for document_id, count in documents}
    return roles, pages


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
