"""Legal holds: a hold on a document, or on a client (every document of the client), stops
every deletion of it, by a person (the bin refuses) and by the retention sweep, until the
hold is released. Released holds stay, for the record of who held what and why.

A hold is placed under a lock on its subject's row (FOR UPDATE), and the sweep locks the
documents it deletes and their clients (FOR SHARE) before it checks for holds: a hold being
placed and a deletion of what it covers cannot both go through."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, StringConstraints, model_validator
from sqlalchemy import ColumnElement, and_, exists, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from core.pagination import Page, PageParams, keyset, read_page
from core.principal import Principal
from models import Document, LegalHold
from services import audit
from services.clients import CLIENTS
from services.documents.repository import DOCUMENTS, HOLDS
from services.repository import Firm, firm_id_of

T = TypeVar("T")

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class HoldFields(BaseModel):
    """A new hold: on exactly one of a document or a client, and why."""

    model_config = ConfigDict(extra="forbid")

    document_id: uuid.UUID | None = None
    client_id: uuid.UUID | None = None
    reason: Reason

    @model_validator(mode="after")
    def _one_subject(self) -> "HoldFields":
        if (self.document_id is None) == (self.client_id is None):
            raise ValueError("name exactly one of document_id and client_id")
        return self


@dataclass(frozen=True)
class HoldFilters:
    document_id: uuid.UUID | None = None
    client_id: uuid.UUID | None = None
    # True: holds in force only; False: released ones only; None: both.
    active: bool | None = None


def summarize(hold: LegalHold) -> dict[str, Any]:
    return {
        "document_id": str(hold.document_id) if hold.document_id else None,
        "client_id": str(hold.client_id) if hold.client_id else None,
        "reason": hold.reason,
        "released_at": hold.released_at.isoformat() if hold.released_at else None,
    }


def held(
    firm: Firm,
    document_id: InstrumentedAttribute[uuid.UUID] | uuid.UUID,
    client_id: InstrumentedAttribute[uuid.UUID | None] | uuid.UUID | None,
) -> ColumnElement[bool]:
    """Whether a hold in force covers the document (by its id and its client's id), as a
    condition for statements over documents (the sweep's)."""
    on_client: ColumnElement[bool] = (
        false() if client_id is None else LegalHold.client_id == client_id
    )
    return exists().where(
        HOLDS.owned_by(firm),
        LegalHold.released_at.is_(None),
        or_(LegalHold.document_id == document_id, on_client),
    )


async def is_held(session: AsyncSession, firm_id: uuid.UUID, document: Document) -> bool:
    """Whether a hold in force covers ``document``, on itself or on its client."""
    found = await session.scalar(select(held(firm_id, document.id, document.client_id)))
    return bool(found)


async def place_hold(
    session: AsyncSession, principal: Principal, *, fields: HoldFields
) -> LegalHold:
    """Place a hold; the subject (another firm's is a 404) is locked until the transaction
    ends, so a sweep deleting it waits and then sees the hold. A document in the bin may be
    held: the hold keeps the sweep from purging it."""
    if fields.document_id is not None:
        await DOCUMENTS.require(
            session, principal, fields.document_id, lock=True, pointer="/document_id"
        )
    if fields.client_id is not None:
        await CLIENTS.require(session, principal, fields.client_id, lock=True, pointer="/client_id")
    hold = LegalHold(
        firm_id=principal.firm_id,
        document_id=fields.document_id,
        client_id=fields.client_id,
        reason=fields.reason,
        placed_by=principal.user_id,
    )
    session.add(hold)
    await session.flush()
    await session.refresh(hold, ["created_at", "updated_at"])
    await audit.record(
        session,
        principal,
        action="legal_hold.placed",
        record_type="legal_hold",
        record_id=hold.id,
        after=summarize(hold),
    )
    return hold


async def release_hold(
    session: AsyncSession, principal: Principal, hold_id: uuid.UUID
) -> LegalHold:
    """Release a hold; releasing a released hold changes nothing (and records nothing)."""
    hold = await HOLDS.get_or_404(session, principal, hold_id, lock=True)
    if hold.released_at is not None:
        return hold
    before = summarize(hold)
    hold.released_at = datetime.now(UTC)
    hold.released_by = principal.user_id
    await session.flush()
    await session.refresh(hold, ["updated_at"])
    await audit.record(
        session,
        principal,
        action="legal_hold.released",
        record_type="legal_hold",
        record_id=hold.id,
        before=before,
        after=summarize(hold),
    )
    return hold


async def get_hold(session: AsyncSession, principal: Principal, hold_id: uuid.UUID) -> LegalHold:
    return await HOLDS.get_or_404(session, principal, hold_id)


def _filtered(firm: Firm, filters: HoldFilters) -> list[ColumnElement[bool]]:
    criteria: list[ColumnElement[bool]] = [HOLDS.owned_by(firm_id_of(firm))]
    if filters.document_id is not None:
        criteria.append(LegalHold.document_id == filters.document_id)
    if filters.client_id is not None:
        criteria.append(LegalHold.client_id == filters.client_id)
    if filters.active is True:
        criteria.append(LegalHold.released_at.is_(None))
    elif filters.active is False:
        criteria.append(LegalHold.released_at.is_not(None))
    return criteria


async def list_holds(
    session: AsyncSession,
    principal: Principal,
    *,
    filters: HoldFilters,
    page: PageParams,
    into: Callable[[dict[str, Any]], T],
) -> Page[T]:
    """Newest first; each row (a dict of the hold's columns) made into ``T`` by ``into``."""
    stmt = select(*LegalHold.__table__.columns).where(and_(*_filtered(principal, filters)))
    return await read_page(
        session, keyset(stmt, LegalHold.created_at, LegalHold.id, page), page, into
    )
