"""Envelopes: a draft made of library documents (each one's current version pinned, its
pages measured once), its recipients and fields; the list, the details, the changes a draft
allows and its deletion; the trail.

Sending, voiding and the other steps after the draft are in ``services.esignature.lifecycle``;
documents in ``envelope_documents``, recipients in ``recipients`` and fields in
``fields``."""

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from sqlalchemy import ColumnElement, Select, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from core.not_null import NeverNull
from core.pagination import Page, PageParams, encode_cursor, keyset, read_page
from core.principal import Principal
from models import (
    Document,
    Envelope,
    EnvelopeDocument,
    EnvelopeEvent,
    EnvelopeEventKind,
    EnvelopeField,
    EnvelopeRecipient,
    EnvelopeStatus,
    ProviderName,
)
from providers.storage import Storage
from services import audit
from services.clients import CLIENTS
from services.esignature import envelope_documents, recipients, state, trail
from services.esignature.repository import (
    ENVELOPE_DOCUMENTS,
    ENVELOPES,
    EVENTS,
    FIELDS,
    RECIPIENTS,
)
from services.esignature.state import MAX_RECIPIENTS, RecipientFields
from services.patches import apply_patch
from services.repository import Firm
from workflows.esignature.envelope import contracts as envelope_contracts

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Message = Annotated[str, StringConstraints(max_length=10_000)]
ExpiryDays = Annotated[int, Field(ge=1, le=envelope_contracts.MAX_EXPIRY_DAYS)]
ReminderDays = Annotated[int, Field(ge=1, le=60)]
ReminderMax = Annotated[int, Field(ge=0, le=20)]


class EnvelopeSettings(BaseModel):
    """What the create request and a template share: the expiry and the reminder policy."""

    model_config = ConfigDict(extra="forbid")

    expiry_days: ExpiryDays = envelope_contracts.DEFAULT_EXPIRY_DAYS
    reminder_first_days: ReminderDays = envelope_contracts.DEFAULT_REMINDER_FIRST_DAYS
    reminder_every_days: ReminderDays = envelope_contracts.DEFAULT_REMINDER_EVERY_DAYS
    reminder_max: ReminderMax = envelope_contracts.DEFAULT_REMINDER_MAX


class EnvelopeFields(EnvelopeSettings):
    """A new draft. ``document_ids``: library documents whose current version is a PDF, in
    the order they are to be read."""

    title: Title
    message: Message = ""
    client_id: uuid.UUID | None = None
    provider: ProviderName = ProviderName.builtin
    document_ids: list[uuid.UUID] = Field(
        default_factory=list, max_length=envelope_documents.MAX_DOCUMENTS
    )
    recipients: list[RecipientFields] = Field(default_factory=list, max_length=MAX_RECIPIENTS)

    @field_validator("document_ids")
    @classmethod
    def _distinct(cls, value: list[uuid.UUID]) -> list[uuid.UUID]:
        if len(set(value)) != len(value):
            raise ValueError("a document may be in an envelope once")
        return value


class EnvelopePatch(BaseModel):
    """A draft's details; members left out are left as they are. ``client_id`` may be
    cleared with null."""

    model_config = ConfigDict(extra="forbid")

    title: Annotated[Title | None, NeverNull] = None
    message: Annotated[Message | None, NeverNull] = None
    client_id: uuid.UUID | None = None
    provider: Annotated[ProviderName | None, NeverNull] = None
    expiry_days: Annotated[ExpiryDays | None, NeverNull] = None
    reminder_first_days: Annotated[ReminderDays | None, NeverNull] = None
    reminder_every_days: Annotated[ReminderDays | None, NeverNull] = None
    reminder_max: Annotated[ReminderMax | None, NeverNull] = None

    @field_validator(
        "title",
        "message",
        "provider",
        "expiry_days",
        "reminder_first_days",
        "reminder_every_days",
        "reminder_max",
    )
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may be left out but not null")
        return value


def summarize(envelope: Envelope) -> dict[str, Any]:
    return {
        "title": envelope.title,
        "status": envelope.status,
        "provider": envelope.provider,
        "client_id": str(envelope.client_id) if envelope.client_id else None,
        "expiry_days": envelope.expiry_days,
        "reminder_first_days": envelope.reminder_first_days,
        "reminder_every_days": envelope.reminder_every_days,
        "reminder_max": envelope.reminder_max,
        "send_round": envelope.send_round,
    }


@dataclass(frozen=True)
class PinnedDocument:
    row: EnvelopeDocument
    title: str


@dataclass(frozen=True)
class Detailed:
    """An envelope with its parts, in order: documents by position, recipients by
    routing order, fields by document, page and position on the page."""

    envelope: Envelope
    documents: list[PinnedDocument]
    recipients: list[EnvelopeRecipient]
    fields: list[EnvelopeField]


async def detailed(session: AsyncSession, firm: Firm, envelope: Envelope) -> Detailed:
    document_rows = (
        await session.execute(
            select(EnvelopeDocument, Document.title)
            .join(Document, Document.id == EnvelopeDocument.document_id)
            .where(ENVELOPE_DOCUMENTS.owned_by(firm), EnvelopeDocument.envelope_id == envelope.id)
            .order_by(EnvelopeDocument.position)
        )
    ).all()
    recipient_rows = await session.scalars(
        RECIPIENTS.select(firm)
        .where(EnvelopeRecipient.envelope_id == envelope.id)
        .order_by(
            EnvelopeRecipient.routing_order, EnvelopeRecipient.created_at, EnvelopeRecipient.id
        )
    )
    field_rows = await session.scalars(
        FIELDS.select(firm)
        .where(EnvelopeField.envelope_id == envelope.id)
        .order_by(
            EnvelopeField.envelope_document_id,
            EnvelopeField.page,
            EnvelopeField.y,
            EnvelopeField.x,
            EnvelopeField.id,
        )
    )
    return Detailed(
        envelope=envelope,
        documents=[PinnedDocument(row=row, title=title) for row, title in document_rows],
        recipients=list(recipient_rows),
        fields=list(field_rows),
    )


async def view(session: AsyncSession, firm: Firm, envelope_id: uuid.UUID) -> Detailed:
    envelope = await state.get_envelope(session, firm, envelope_id)
    return await detailed(session, firm, envelope)


async def create_envelope(
    session: AsyncSession,
    storage: Storage,
    principal: Principal,
    *,
    fields: EnvelopeFields,
    template_id: uuid.UUID | None = None,
    template_roles: list[str] | None = None,
) -> Envelope:
    """A draft with its documents and recipients; recorded in the trail as created.
    ``template_roles``: the template role each recipient fills, in order."""
    if fields.client_id is not None:
        await CLIENTS.require(session, principal, fields.client_id, pointer="/client_id")
    envelope = Envelope(
        firm_id=principal.firm_id,
        status=EnvelopeStatus.draft.value,
        created_by=principal.user_id,
        template_id=template_id,
        **fields.model_dump(exclude={"document_ids", "recipients"}),
    )
    session.add(envelope)
    await session.flush()
    for index, document_id in enumerate(fields.document_ids):
        await envelope_documents.pin_document(
            session,
            storage,
            principal,
            envelope,
            document_id,
            position=index,
            pointer=f"/document_ids/{index}",
        )
    for index, recipient in enumerate(fields.recipients):
        await recipients.insert_recipient(
            session,
            principal,
            envelope,
            recipient,
            pointer=f"/recipients/{index}",
            template_role=template_roles[index] if template_roles else None,
        )
    await session.refresh(envelope, ["created_at", "updated_at"])
    await trail.record_event(
        session,
        principal,
        envelope.id,
        EnvelopeEventKind.created,
        email=await state.staff_email(session, principal),
        source="staff",
    )
    await audit.record(
        session,
        principal,
        action="envelope.created",
        record_type="envelope",
        record_id=envelope.id,
        after=summarize(envelope),
    )
    return envelope


async def update_envelope(
    session: AsyncSession, principal: Principal, envelope_id: uuid.UUID, *, patch: EnvelopePatch
) -> Envelope:
    envelope = await state.locked_draft(session, principal, envelope_id, "changed")
    if patch.client_id is not None:
        await CLIENTS.require(session, principal, patch.client_id, pointer="/client_id")
    await apply_patch(
        session, principal, envelope, patch, record_type="envelope", summarize=summarize
    )
    return envelope


async def delete_envelope(
    session: AsyncSession, principal: Principal, envelope_id: uuid.UUID
) -> None:
    """Delete a draft with its parts (a sent envelope is voided, never deleted)."""
    envelope = await state.locked_draft(session, principal, envelope_id, "deleted")
    before = summarize(envelope)
    await session.delete(envelope)
    await session.flush()
    await audit.record(
        session,
        principal,
        action="envelope.deleted",
        record_type="envelope",
        record_id=envelope_id,
        before=before,
    )


@dataclass(frozen=True)
class EnvelopeFilters:
    status: EnvelopeStatus | None = None
    client_id: uuid.UUID | None = None


_LIST_COLUMNS = [
    column
    for column in Envelope.__table__.columns
    if column.name not in {"firm_id", "void_reason", "created_by", "sent_by"}
]


def envelopes_query(
    principal: Principal, filters: EnvelopeFilters, page: PageParams
) -> Select[Any]:
    """Newest first; a status filter reads ix_envelopes_firm_id_status_created_at_id, a
    client filter ix_envelopes_firm_id_client_id_created_at_id."""
    criteria: list[ColumnElement[bool]] = [ENVELOPES.owned_by(principal)]
    if filters.status is not None:
        criteria.append(Envelope.status == filters.status.value)
    if filters.client_id is not None:
        criteria.append(Envelope.client_id == filters.client_id)
    stmt: Select[Any] = select(*_LIST_COLUMNS).where(*criteria)
    return keyset(stmt, Envelope.created_at, Envelope.id, page)


async def list_envelopes(
    session: AsyncSession,
    principal: Principal,
    *,
    filters: EnvelopeFilters,
    page: PageParams,
    into: Any,
) -> Page[Any]:
    return await read_page(session, envelopes_query(principal, filters, page), page, into)


def events_query(principal: Principal, envelope_id: uuid.UUID, page: PageParams) -> Select[Any]:
    """The trail oldest first (ix_envelope_events_firm_id_envelope_id_occurred_at_id): the
    cursor holds the last event's time and id, the next page starts after it."""
    stmt = EVENTS.select(principal).where(EnvelopeEvent.envelope_id == envelope_id)
    if page.cursor is not None:
        stmt = stmt.where(
            tuple_(EnvelopeEvent.occurred_at, EnvelopeEvent.id)
            > (page.cursor.created_at, page.cursor.id)
        )
    return stmt.order_by(EnvelopeEvent.occurred_at, EnvelopeEvent.id).limit(page.limit + 1)


async def list_events(
    session: AsyncSession,
    principal: Principal,
    envelope_id: uuid.UUID,
    *,
    page: PageParams,
) -> Page[EnvelopeEvent]:
    envelope = await state.get_envelope(session, principal, envelope_id)
    rows = list(await session.scalars(events_query(principal, envelope.id, page)))
    items = rows[: page.limit]
    if len(rows) <= page.limit:
        return Page(items=items, next_cursor=None)
    return Page(items=items, next_cursor=encode_cursor(items[-1].occurred_at, items[-1].id))
