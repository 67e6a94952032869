"""Retention policies ("tax returns: 10 years after the client is archived") and which
documents are due for deletion.

A document is due when the policy of its type has run out: ``retain_days`` after its trigger
moment, which is the document's creation (``created``) or its client's archiving
(``client_archived``: never while the client is active, nor for a document without a
client). A document in the bin is due ``BIN_DAYS`` after its deletion whatever its policy
says: the bin's promise of a restore within that time holds under any policy. Nothing under
a legal hold is ever due. The sweep (``services.documents.sweep``) reports what is due and
deletes it after the grace period."""

import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from sqlalchemy import (
    ColumnElement,
    Interval,
    Select,
    and_,
    func,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from core.errors import Conflict
from core.not_null import NeverNull
from core.pagination import Page, PageParams, keyset, read_page
from core.principal import Principal
from models import Client, Document, RetentionPolicy, RetentionTrigger
from services import audit
from services.documents.documents import BIN_DAYS
from services.documents.holds import held
from services.documents.repository import DOCUMENTS, POLICIES
from services.patches import apply_patch

T = TypeVar("T")

# A hundred years: longer than any statute asks, short enough to stay a sane date.
MAX_RETAIN_DAYS = 36_500
MAX_GRACE_DAYS = 3_650

DocumentType = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
]
Description = Annotated[str, StringConstraints(max_length=2000)]
RetainDays = Annotated[int, Field(ge=1, le=MAX_RETAIN_DAYS)]
GraceDays = Annotated[int, Field(ge=0, le=MAX_GRACE_DAYS)]


class PolicyFields(BaseModel):
    """A new policy: the documents of ``document_type`` are kept ``retain_days`` after the
    trigger, then reported by the nightly sweep and deleted ``grace_days`` after that."""

    model_config = ConfigDict(extra="forbid")

    document_type: DocumentType
    trigger: RetentionTrigger = RetentionTrigger.created
    retain_days: RetainDays
    grace_days: GraceDays = 30
    description: Description | None = None


class PolicyPatch(BaseModel):
    """Only the fields present change; only ``description`` may be set to null."""

    model_config = ConfigDict(extra="forbid")

    document_type: Annotated[DocumentType | None, NeverNull] = None
    trigger: Annotated[RetentionTrigger | None, NeverNull] = None
    retain_days: Annotated[RetainDays | None, NeverNull] = None
    grace_days: Annotated[GraceDays | None, NeverNull] = None
    description: Description | None = None

    @field_validator("document_type", "trigger", "retain_days", "grace_days", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may not be null")
        return value


def summarize(policy: RetentionPolicy) -> dict[str, Any]:
    return {
        "document_type": policy.document_type,
        "trigger": policy.trigger,
        "retain_days": policy.retain_days,
        "grace_days": policy.grace_days,
        "description": policy.description,
    }


def _duplicate(document_type: str) -> Conflict:
    return Conflict(
        f"The firm already has a retention policy for document type {document_type!r}",
        errors=[{"pointer": "/document_type", "detail": "a policy for this type exists"}],
    )


async def _write(session: AsyncSession, document_type: str) -> None:
    """Flush, with the firm's one policy per type a 409 rather than a server error."""
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise _duplicate(document_type) from exc


async def create_policy(
    session: AsyncSession, principal: Principal, *, fields: PolicyFields
) -> RetentionPolicy:
    policy = RetentionPolicy(firm_id=principal.firm_id, **fields.model_dump())
    session.add(policy)
    await _write(session, fields.document_type)
    await session.refresh(policy, ["created_at", "updated_at"])
    await audit.record(
        session,
        principal,
        action="retention_policy.created",
        record_type="retention_policy",
        record_id=policy.id,
        after=summarize(policy),
    )
    return policy


async def get_policy(
    session: AsyncSession, principal: Principal, policy_id: uuid.UUID, *, lock: bool = False
) -> RetentionPolicy:
    return await POLICIES.get_or_404(session, principal, policy_id, lock=lock)


async def update_policy(
    session: AsyncSession, principal: Principal, policy_id: uuid.UUID, *, patch: PolicyPatch
) -> RetentionPolicy:
    """A change applies from the next sweep on: documents it no longer makes due leave the
    report, and a reported document's grace period is counted with the new grace days from
    when it was first reported."""
    policy = await get_policy(session, principal, policy_id, lock=True)

    async def write() -> None:
        await _write(session, patch.document_type or policy.document_type)

    await apply_patch(
        session,
        principal,
        policy,
        patch,
        record_type="retention_policy",
        summarize=summarize,
        write=write,
    )
    return policy


async def delete_policy(session: AsyncSession, principal: Principal, policy_id: uuid.UUID) -> None:
    """Documents of the type are kept until a new policy says otherwise; what the sweep had
    reported under this policy leaves the report with it."""
    policy = await get_policy(session, principal, policy_id, lock=True)
    before = summarize(policy)
    await session.delete(policy)
    await session.flush()
    await audit.record(
        session,
        principal,
        action="retention_policy.deleted",
        record_type="retention_policy",
        record_id=policy_id,
        before=before,
    )


async def list_policies(
    session: AsyncSession,
    principal: Principal,
    *,
    page: PageParams,
    into: Callable[[dict[str, Any]], T],
) -> Page[T]:
    """Newest first; each row (a dict of the policy's columns) made into ``T``."""
    stmt = select(*RetentionPolicy.__table__.columns).where(POLICIES.owned_by(principal))
    return await read_page(
        session, keyset(stmt, RetentionPolicy.created_at, RetentionPolicy.id, page), page, into
    )


# Which documents are due ----------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    """A document due for deletion, and why."""

    document_id: uuid.UUID
    title: str
    document_type: str
    client_id: uuid.UUID | None
    # None for a document in the bin past its days there.
    policy_id: uuid.UUID | None
    # "retention" or "bin".
    reason: str
    # When it became due.
    due_at: datetime
    grace_days: int


def _days(days: InstrumentedAttribute[int] | int) -> ColumnElement[timedelta]:
    return func.make_interval(0, 0, 0, days, type_=Interval)


def _columns(policy: RetentionPolicy, moment: Any) -> tuple[Any, ...]:
    return (
        Document.id.label("document_id"),
        Document.title,
        Document.document_type,
        Document.client_id,
        literal(policy.id).label("policy_id"),
        literal("retention").label("reason"),
        (moment + _days(policy.retain_days)).label("due_at"),
        literal(policy.grace_days).label("grace_days"),
    )


def _by_policy(firm_id: uuid.UUID, now: datetime, policy: RetentionPolicy) -> Select[Any]:
    """The documents ``policy`` has run out for. One statement per policy, with the cutoff
    a constant: the planner sees how few documents of the type are that old and reads them
    as a range of (firm_id, document_type, created_at)."""
    cutoff = now - timedelta(days=policy.retain_days)
    of_type = (
        DOCUMENTS.owned_by(firm_id),
        Document.document_type == policy.document_type,
        Document.deleted_at.is_(None),
    )
    if policy.trigger == RetentionTrigger.created.value:
        return select(*_columns(policy, Document.created_at)).where(
            *of_type, Document.created_at <= cutoff
        )
    # An active client has no archived_at: its documents never match.
    return (
        select(*_columns(policy, Client.archived_at))
        .join(Client, and_(Client.firm_id == Document.firm_id, Client.id == Document.client_id))
        .where(*of_type, Client.archived_at <= cutoff)
    )


def _in_the_bin(firm_id: uuid.UUID, now: datetime) -> Select[*tuple[Any, ...]]:
    due_at = Document.deleted_at + _days(BIN_DAYS)
    return select(
        Document.id.label("document_id"),
        Document.title,
        Document.document_type,
        Document.client_id,
        null().label("policy_id"),
        literal("bin").label("reason"),
        due_at.label("due_at"),
        literal(0).label("grace_days"),
    ).where(DOCUMENTS.owned_by(firm_id), Document.deleted_at <= now - _days(BIN_DAYS))


def due_query(
    firm_id: uuid.UUID,
    now: datetime,
    policies: Sequence[RetentionPolicy],
    *,
    among: Collection[uuid.UUID] | None = None,
) -> Select[Any]:
    """The statement behind ``due_documents``, for the firm's ``policies``."""
    parts = []
    for part in (*[_by_policy(firm_id, now, p) for p in policies], _in_the_bin(firm_id, now)):
        part = part.where(~held(firm_id, Document.id, Document.client_id))
        if among is not None:
            part = part.where(Document.id.in_(list(among)))
        parts.append(part)
    due = union_all(*parts).subquery()
    return select(due).order_by(due.c.due_at, due.c.document_id)


async def due_documents(
    session: AsyncSession,
    firm_id: uuid.UUID,
    now: datetime,
    *,
    among: Collection[uuid.UUID] | None = None,
) -> list[Due]:
    """The firm's documents due for deletion at ``now`` and not held, oldest due first;
    ``among`` narrows them to these ids (the sweep's check before it deletes)."""
    policies = list(await session.scalars(POLICIES.select(firm_id).order_by(RetentionPolicy.id)))
    rows = await session.execute(due_query(firm_id, now, policies, among=among))
    return [Due(**row._mapping) for row in rows]
