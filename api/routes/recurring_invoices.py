"""Recurring invoices of the caller's firm: the schedule and template, pause / resume /
end, and a preview of the next occurrences."""

import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from api import idempotency
from api.deps import IdempotencyDep, PageDep, Requires, SessionDep
from api.openapi import errors
from api.schemas.common import Page, page_of
from core.errors import Conflict, NotFound
from core.permissions import Permission
from core.principal import Principal
from models import RecurringStatus
from services.billing import recurring
from services.billing.recurrence import MAX_PREVIEW, WallClock
from services.billing.recurring import RecurringFields, RecurringPatch

router = APIRouter(prefix="/recurring-invoices")

Reader = Annotated[Principal, Requires(Permission.billing_read)]
Writer = Annotated[Principal, Requires(Permission.billing_write)]


class RecurringInvoiceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    client_id: uuid.UUID
    status: RecurringStatus
    currency: str
    template: dict[str, Any]
    rrule: str
    time_zone: str
    starts_at_local: WallClock
    ends_on: date | None
    count: int | None
    auto_send: bool
    last_occurrence_date: date | None
    created_at: datetime
    updated_at: datetime


class OccurrenceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    occurrence_date: date
    local: datetime
    at: datetime


class PreviewRead(BaseModel):
    time_zone: str
    occurrences: list[OccurrenceRead]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=RecurringInvoiceRead,
    responses=errors(NotFound),
)
async def create_recurring_invoice(
    body: RecurringFields, principal: Writer, session: SessionDep, idem: IdempotencyDep
) -> JSONResponse:
    """Save the schedule and template and start issuing; accepts an ``Idempotency-Key``."""

    async def create() -> RecurringInvoiceRead:
        created = await recurring.create_recurring(session, principal, fields=body)
        return RecurringInvoiceRead.model_validate(created)

    return await idempotency.run(
        session, principal, idem, payload=body, status_code=201, handler=create
    )


@router.get("")
async def list_recurring_invoices(
    principal: Reader, session: SessionDep, page: PageDep
) -> Page[RecurringInvoiceRead]:
    """Newest first, keyset-paginated."""
    result = await recurring.list_recurring(session, principal, page=page)
    return page_of([RecurringInvoiceRead.model_validate(r) for r in result.items], result)


@router.get("/{recurring_invoice_id}")
async def get_recurring_invoice(
    recurring_invoice_id: uuid.UUID, principal: Reader, session: SessionDep
) -> RecurringInvoiceRead:
    found = await recurring.get_recurring(session, principal, recurring_invoice_id)
    return RecurringInvoiceRead.model_validate(found)


@router.patch("/{recurring_invoice_id}", responses=errors(Conflict))
async def update_recurring_invoice(
    recurring_invoice_id: uuid.UUID, body: RecurringPatch, principal: Writer, session: SessionDep
) -> RecurringInvoiceRead:
    """Change the template, auto_send or the schedule (re-planned from now on)."""
    changed = await recurring.update_recurring(session, principal, recurring_invoice_id, patch=body)
    return RecurringInvoiceRead.model_validate(changed)


async def _set_status(
    session: SessionDep,
    principal: Principal,
    recurring_invoice_id: uuid.UUID,
    target: RecurringStatus,
) -> RecurringInvoiceRead:
    changed = await recurring.set_status(session, principal, recurring_invoice_id, target=target)
    return RecurringInvoiceRead.model_validate(changed)


@router.post("/{recurring_invoice_id}/pause", responses=errors(Conflict))
async def pause_recurring_invoice(
    recurring_invoice_id: uuid.UUID, principal: Writer, session: SessionDep
) -> RecurringInvoiceRead:
    """No invoices until resumed; occurrences that fall due meanwhile are skipped."""
    return await _set_status(session, principal, recurring_invoice_id, RecurringStatus.paused)


@router.post("/{recurring_invoice_id}/resume", responses=errors(Conflict))
async def resume_recurring_invoice(
    recurring_invoice_id: uuid.UUID, principal: Writer, session: SessionDep
) -> RecurringInvoiceRead:
    return await _set_status(session, principal, recurring_invoice_id, RecurringStatus.active)


@router.post("/{recurring_invoice_id}/end", responses=errors(Conflict))
async def end_recurring_invoice(
    recurring_invoice_id: uuid.UUID, principal: Writer, session: SessionDep
) -> RecurringInvoiceRead:
    """For good: an ended recurring invoice cannot be resumed or changed."""
    return await _set_status(session, principal, recurring_invoice_id, RecurringStatus.ended)


@router.get("/{recurring_invoice_id}/preview")
async def preview_recurring_invoice(
    recurring_invoice_id: uuid.UUID,
    principal: Reader,
    session: SessionDep,
    n: Annotated[
        int, Query(ge=1, le=MAX_PREVIEW, description="How many occurrences (1 to 100).")
    ] = 12,
) -> PreviewRead:
    """The next ``n`` occurrences from now on: the local date (the invoice's issue date),
    the local wall-clock time and the UTC instant each fires at."""
    found = await recurring.get_recurring(session, principal, recurring_invoice_id)
    occurrences = recurring.preview(found, n=n, now=datetime.now(UTC))
    return PreviewRead(
        time_zone=found.time_zone,
        occurrences=[OccurrenceRead.model_validate(o) for o in occurrences],
    )
