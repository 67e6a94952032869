"""Recurring invoices: the template each occurrence's invoice is made from, the schedule
(services/billing/recurrence.py does the maths), CRUD, pause / resume / end, the preview,
and the two steps RecurringInvoiceWorkflow's activities take (plan the next occurrence,
invoice one occurrence exactly once).

Every change that matters to the running workflow (its start, a schedule change, pause,
resume, end) goes through the outbox in the same transaction as the change."""

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import AppError, Conflict, Unprocessable
from core.not_null import NeverNull
from core.pagination import Page, PageParams, keyset, to_page
from core.principal import Principal
from models import Firm, Invoice, RecurringInvoice, RecurringStatus
from services import audit
from services.billing import invoices
from services.billing.currencies import is_currency
from services.billing.invoice_fields import Currency, InvoiceFields, Notes, Terms
from services.billing.invoice_lines import Discount, Lines, snapshot_lines
from services.billing.recurrence import (
    MAX_COUNT,
    Occurrence,
    Schedule,
    ScheduleError,
    WallClock,
)
from services.billing.repository import INVOICES, RECURRING
from services.clients import CLIENTS
from services.outbox import writer as outbox
from workflows.billing.recurring import contracts as recurring_contracts
from workflows.billing.recurring.contracts import RecurringInput

RuleText = Annotated[str, StringConstraints(min_length=1, max_length=500)]
ZoneName = Annotated[str, StringConstraints(min_length=1, max_length=64)]
SCHEDULE_FIELDS = ("rrule", "time_zone", "starts_at_local", "ends_on", "count")


class RecurringTemplate(BaseModel):
    """What each occurrence's invoice gets; its issue date is the occurrence's local date
    and its due date that plus ``payment_terms_days`` (the firm's default without it)."""

    model_config = ConfigDict(extra="forbid")

    lines: Lines
    discount: Discount | None = None
    notes: Notes | None = None
    payment_terms_days: Terms | None = None


class RecurringFields(BaseModel):
    """``starts_at_local`` is a wall-clock time without offset in ``time_zone`` (default:
    the firm's); give ``ends_on`` (inclusive) or ``count``, or neither for no end."""

    model_config = ConfigDict(extra="forbid")

    client_id: uuid.UUID
    currency: Currency | None = None
    template: RecurringTemplate
    rrule: RuleText
    time_zone: ZoneName | None = None
    starts_at_local: WallClock
    ends_on: date | None = None
    count: Annotated[int, Field(ge=1, le=MAX_COUNT)] | None = None
    auto_send: bool = False


class RecurringPatch(BaseModel):
    """Only the fields present change; ``ends_on`` and ``count`` may be null to clear."""

    model_config = ConfigDict(extra="forbid")

    template: Annotated[RecurringTemplate | None, NeverNull] = None
    auto_send: Annotated[bool | None, NeverNull] = None
    rrule: Annotated[RuleText | None, NeverNull] = None
    time_zone: Annotated[ZoneName | None, NeverNull] = None
    starts_at_local: Annotated[WallClock | None, NeverNull] = None
    ends_on: date | None = None
    count: Annotated[int, Field(ge=1, le=MAX_COUNT)] | None = None

    @field_validator(
        "template", "auto_send", "rrule", "time_zone", "starts_at_local", mode="before"
    )
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may not be null")
        return value


def summarize(recurring: RecurringInvoice) -> dict[str, Any]:
    return {
        "client_id": str(recurring.client_id),
        "status": recurring.status,
        "currency": recurring.currency,
        "template": recurring.template,
        "rrule": recurring.rrule,
        "time_zone": recurring.time_zone,
        "starts_at_local": recurring.starts_at_local.isoformat(),
        "ends_on": recurring.ends_on.isoformat() if recurring.ends_on else None,
        "count": recurring.count,
        "auto_send": recurring.auto_send,
        "last_occurrence_date": (
            recurring.last_occurrence_date.isoformat() if recurring.last_occurrence_date else None
        ),
    }


def schedule_of(recurring: RecurringInvoice) -> Schedule:
    """The stored schedule (validated when it was saved)."""
    return Schedule(
        rule=recurring.rrule,
        time_zone=recurring.time_zone,
        starts_at_local=recurring.starts_at_local,
        ends_on=recurring.ends_on,
        count=recurring.count,
    )


def _parse_schedule(values: dict[str, Any]) -> Schedule:
    try:
        return Schedule.parse(
            values["rrule"],
            values["time_zone"],
            values["starts_at_local"],
            ends_on=values["ends_on"],
            count=values["count"],
        )
    except ScheduleError as exc:
        raise Unprocessable(
            f"{exc.pointer.lstrip('/')}: {exc.detail}",
            errors=[{"pointer": exc.pointer, "detail": exc.detail}],
        ) from None


async def _check_template(
    session: AsyncSession, principal: Principal, template: RecurringTemplate
) -> None:
    """The tax rates must be the firm's and active, as each occurrence will need them."""
    try:
        await snapshot_lines(session, principal, template.lines)
    except AppError as exc:
        exc.errors = [
            {**error, "pointer": "/template" + error["pointer"]} for error in exc.errors or []
        ]
        raise


async def _check_client(session: AsyncSession, principal: Principal, client_id: uuid.UUID) -> None:
    await CLIENTS.require(session, principal, client_id, pointer="/client_id")


async def _signal(session: AsyncSession, recurring: RecurringInvoice, signal: str) -> None:
    """Wake the workflow; each change signals once (a fresh key per change)."""
    target = recurring_contracts.workflow_id(recurring.id)
    await outbox.enqueue_message(
        session,
        recurring.firm_id,
        outbox.signal_workflow(
            target, signal, dedupe_key=f"signal:{target}:{signal}:{uuid.uuid4()}"
        ),
    )


async def create_recurring(
    session: AsyncSession, principal: Principal, *, fields: RecurringFields
) -> RecurringInvoice:
    """Save the recurring invoice and start its workflow (through the outbox). No
    occurrence before now is invoiced, however early ``starts_at_local`` is."""
    await _check_client(session, principal, fields.client_id)
    firm = await session.get_one(Firm, principal.firm_id)
    currency = fields.currency or firm.default_currency
    if not is_currency(currency):
        raise Unprocessable(
            "currency is not an ISO 4217 currency code",
            errors=[{"pointer": "/currency", "detail": "not an ISO 4217 currency code"}],
        )
    values = fields.model_dump(include=set(SCHEDULE_FIELDS))
    values["time_zone"] = fields.time_zone or firm.time_zone
    schedule = _parse_schedule(values)
    await _check_template(session, principal, fields.template)
    recurring = RecurringInvoice(
        firm_id=principal.firm_id,
        client_id=fields.client_id,
        status=RecurringStatus.active,
        currency=currency,
        template=fields.template.model_dump(mode="json", exclude_none=True),
        rrule=schedule.rule,
        time_zone=schedule.time_zone,
        starts_at_local=schedule.starts_at_local,
        ends_on=schedule.ends_on,
        count=schedule.count,
        auto_send=fields.auto_send,
        created_by=principal.user_id,
    )
    session.add(recurring)
    await session.flush()
    await session.refresh(recurring, ["created_at", "updated_at"])
    await audit.record(
        session,
        principal,
        action="recurring_invoice.created",
        record_type="recurring_invoice",
        record_id=recurring.id,
        after=summarize(recurring),
    )
    await outbox.enqueue_message(
        session,
        principal.firm_id,
        outbox.start_workflow(
            recurring_contracts.WORKFLOW_NAME,
            recurring_contracts.workflow_id(recurring.id),
            RecurringInput(
                firm_id=principal.firm_id,
                recurring_invoice_id=recurring.id,
                not_before=recurring.created_at,
            ),
        ),
    )
    return recurring


async def get_recurring(
    session: AsyncSession, principal: Principal, recurring_id: uuid.UUID, *, lock: bool = False
) -> RecurringInvoice:
    return await RECURRING.get_or_404(session, principal, recurring_id, lock=lock)


async def list_recurring(
    session: AsyncSession, principal: Principal, *, page: PageParams
) -> Page[RecurringInvoice]:
    """Newest first (index ix_recurring_invoices_firm_id_created_at_id)."""
    stmt = RECURRING.select(principal)
    stmt = keyset(stmt, RecurringInvoice.created_at, RecurringInvoice.id, page)
    return to_page((await session.scalars(stmt)).all(), page)


async def _changed(
    session: AsyncSession,
    principal: Principal,
    recurring: RecurringInvoice,
    action: str,
    before: dict[str, Any],
) -> RecurringInvoice:
    await session.flush()
    await session.refresh(recurring, ["updated_at"])
    await audit.record_changes(
        session,
        principal,
        action=action,
        record_type="recurring_invoice",
        record_id=recurring.id,
        before=before,
        after=summarize(recurring),
    )
    return recurring


def _ended(doing: str) -> Conflict:
    return Conflict(
        f"This recurring invoice has ended and cannot be {doing}; create a new one",
        errors=[{"pointer": "/status", "detail": "ended"}],
    )


async def update_recurring(
    session: AsyncSession, principal: Principal, recurring_id: uuid.UUID, *, patch: RecurringPatch
) -> RecurringInvoice:
    """Change the template, auto_send or the schedule; a schedule change re-plans the
    workflow from now on (occurrences already invoiced stay as they are)."""
    recurring = await get_recurring(session, principal, recurring_id, lock=True)
    if recurring.status == RecurringStatus.ended:
        raise _ended("changed")
    before = summarize(recurring)
    given = patch.model_fields_set
    old_schedule = schedule_of(recurring)
    if patch.template is not None:
        await _check_template(session, principal, patch.template)
        recurring.template = patch.template.model_dump(mode="json", exclude_none=True)
    if patch.auto_send is not None:
        recurring.auto_send = patch.auto_send
    if given & set(SCHEDULE_FIELDS):
        values = {name: getattr(recurring, name) for name in SCHEDULE_FIELDS}
        values.update(patch.model_dump(include=given & set(SCHEDULE_FIELDS)))
        schedule = _parse_schedule(values)
        recurring.rrule, recurring.time_zone = schedule.rule, schedule.time_zone
        recurring.starts_at_local = schedule.starts_at_local
        recurring.ends_on, recurring.count = schedule.ends_on, schedule.count
        if schedule != old_schedule:
            await _signal(session, recurring, recurring_contracts.SCHEDULE_CHANGED_SIGNAL)
    return await _changed(session, principal, recurring, "recurring_invoice.updated", before)


async def set_status(
    session: AsyncSession, principal: Principal, recurring_id: uuid.UUID, *, target: RecurringStatus
) -> RecurringInvoice:
    """Pause, resume or end. Asking for the current status changes nothing (a retried
    request is harmless); an ended recurring invoice stays ended (409)."""
    recurring = await get_recurring(session, principal, recurring_id, lock=True)
    if recurring.status == target:
        return recurring
    if recurring.status == RecurringStatus.ended:
        raise _ended("paused or resumed")
    before = summarize(recurring)
    recurring.status = target
    signal = {
        RecurringStatus.paused: recurring_contracts.PAUSED_SIGNAL,
        RecurringStatus.active: recurring_contracts.RESUMED_SIGNAL,
        RecurringStatus.ended: recurring_contracts.ENDED_SIGNAL,
    }[target]
    await _signal(session, recurring, signal)
    action = {"paused": "paused", "active": "resumed", "ended": "ended"}[target]
    return await _changed(session, principal, recurring, f"recurring_invoice.{action}", before)


def preview(recurring: RecurringInvoice, *, n: int, now: datetime) -> list[Occurrence]:
    """The next ``n`` occurrences from ``now`` on (none once ended)."""
    if recurring.status == RecurringStatus.ended:
        return []
    return schedule_of(recurring).preview(n, after=recurring.last_occurrence_date, not_before=now)


@dataclass(frozen=True)
class Plan:
    status: RecurringStatus
    next: Occurrence | None


async def plan_next(
    session: AsyncSession,
    principal: Principal,
    recurring_id: uuid.UUID,
    *,
    after: date | None,
    not_before: datetime | None,
) -> Plan:
    """The workflow's next occurrence. A schedule with none left is ended here."""
    recurring = await get_recurring(session, principal, recurring_id, lock=True)
    status = recurring.status
    if status != RecurringStatus.active:
        return Plan(status=status, next=None)
    found = schedule_of(recurring).next_after(after, not_before)
    if found is None:
        before = summarize(recurring)
        recurring.status = RecurringStatus.ended
        await _changed(session, principal, recurring, "recurring_invoice.ended", before)
        return Plan(status=RecurringStatus.ended, next=None)
    return Plan(status=status, next=found)


@dataclass(frozen=True)
class Invoiced:
    outcome: Literal["created", "existing", "not_active", "rejected"]
    invoice_id: uuid.UUID | None = None
    detail: str | None = None


async def invoice_occurrence(
    session: AsyncSession,
    principal: Principal,
    recurring_id: uuid.UUID,
    *,
    occurrence_date: date,
    fired_at: datetime,
) -> Invoiced:
    """Make, finalize (and, with auto_send, send) the occurrence's invoice, once: the
    recurring invoice's row lock serializes attempts and the unique (recurring invoice,
    occurrence date) returns an earlier attempt's invoice. An invoice that cannot be made
    (the client or a tax rate is gone) pauses the schedule, with the reason audited."""
    recurring = await get_recurring(session, principal, recurring_id, lock=True)
    existing = await session.scalar(
        select(Invoice.id).where(
            INVOICES.owned_by(principal),
            Invoice.recurring_invoice_id == recurring.id,
            Invoice.occurrence_date == occurrence_date,
        )
    )
    if existing is not None:
        return Invoiced(outcome="existing", invoice_id=existing)
    if recurring.status != RecurringStatus.active:
        return Invoiced(outcome="not_active")
    template = RecurringTemplate.model_validate(recurring.template)
    try:
        async with session.begin_nested():
            invoice = await _make_invoice(session, principal, recurring, template, occurrence_date)
    except AppError as exc:
        recurring.status = RecurringStatus.paused
        await session.flush()
        await audit.record(
            session,
            principal,
            action="recurring_invoice.paused",
            record_type="recurring_invoice",
            record_id=recurring.id,
            before={"status": RecurringStatus.active},
            after={
                "status": recurring.status,
                "occurrence_date": occurrence_date.isoformat(),
                "reason": exc.detail,
            },
        )
        return Invoiced(outcome="rejected", detail=exc.detail)
    previous = recurring.last_occurrence_date
    recurring.last_occurrence_date = occurrence_date
    await session.flush()
    await audit.record(
        session,
        principal,
        action="recurring_invoice.invoiced",
        record_type="recurring_invoice",
        record_id=recurring.id,
        before={"last_occurrence_date": previous.isoformat() if previous else None},
        after={
            "last_occurrence_date": occurrence_date.isoformat(),
            "invoice_id": str(invoice.id),
            "fired_at": fired_at.isoformat(),
        },
    )
    return Invoiced(outcome="created", invoice_id=invoice.id)


async def _make_invoice(
    session: AsyncSession,
    principal: Principal,
    recurring: RecurringInvoice,
    template: RecurringTemplate,
    occurrence_date: date,
) -> Invoice:
    fields = InvoiceFields(
        client_id=recurring.client_id,
        currency=recurring.currency,
        issue_date=occurrence_date,
        payment_terms_days=template.payment_terms_days,
        notes=template.notes,
        discount=template.discount,
        lines=template.lines,
    )
    invoice = await invoices.create_invoice(session, principal, fields=fields)
    invoice.recurring_invoice_id = recurring.id
    invoice.occurrence_date = occurrence_date
    await session.flush()
    if recurring.auto_send:
        return await invoices.send_invoice(session, principal, invoice.id)
    return await invoices.finalize_invoice(session, principal, invoice.id)
