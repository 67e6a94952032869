"""What DunningWorkflow's two activities do: plan the next step of an invoice's dunning,
and carry a step out.

The plan reads the invoice, its client's and its own pause flags, the policy and the firm's
business hours, and returns the next step and when (the due date plus the step's offset, at
the opening of business hours in the firm's time zone, moved to the next business day when
it falls on another). Steps whose time passed while dunning could not send (paused, started
late) collapse into the latest one: it goes out at the next business moment, the others are
recorded as skipped. Steps due before the invoice email itself went out are dropped.

The send runs in one transaction that holds the invoice row lock (``SELECT … FOR UPDATE``)
from the re-check to the commit, email included. Payments take the same lock, so a payment
recorded while a reminder is being sent waits for it, and a send that starts after a payment
sees it: no reminder ever goes out after a payment was recorded."""

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import Conflict, NotFound
from core.principal import Principal
from models import Client, DunningReminder, Firm, Invoice, InvoiceKind
from providers.email import EmailProvider, OutgoingEmail
from pure import expressions
from services import audit, tasks
from services.billing import dunning_policy as policies
from services.billing.currencies import format_minor
from services.billing.dunning_outbox import signal_dunning
from services.billing.dunning_policy import INVOICE_STEP, PolicyDoc, PolicyStep, StepKind
from services.billing.invoice_documents import InvoiceAttachments
from services.billing.invoice_status import RECEIVABLE
from services.billing.invoices import apply_late_fee, get_invoice, mark_in_collections
from services.billing.pay_links import PayLinks
from services.billing.repository import DUNNING_REMINDERS, INVOICES
from services.billing.settings import get_settings
from services.clients import CLIENTS
from services.outbox import writer as outbox
from workflows.billing.dunning import contracts as dunning
from workflows.billing.dunning.contracts import (
    DunningState,
    Plan,
    PlanInput,
    PlannedStep,
    SendInput,
    SendOutcome,
    SendResult,
)

log = logging.getLogger("firmflow.dunning")

ALL_DAYS = (1, 2, 3, 4, 5, 6, 7)
MAX_SUBJECT_LINE = 250
# Per invoice: the policy's steps plus endless reminders; the API shows the latest ones.
MAX_REMINDERS_SHOWN = 100


@dataclass(frozen=True)
class BusinessHours:
    zone: ZoneInfo
    start: int
    end: int
    days: Sequence[int]

    def _business_day(self, day: date) -> date:
        days = self.days or ALL_DAYS
        while day.isoweekday() not in days:
            day += timedelta(days=1)
        return day

    def _opening(self, day: date) -> datetime:
        return datetime.combine(day, time(self.start), self.zone).astimezone(UTC)

    def step_time(self, due: date, offset_days: int) -> datetime:
        """The opening of business hours on the step's day, or on the next business day."""
        return self._opening(self._business_day(due + timedelta(days=offset_days)))

    def next_open(self, now: datetime) -> datetime:
        """``now`` when it is inside business hours, else the next opening."""
        local = now.astimezone(self.zone)
        day = local.date()
        if self._business_day(day) == day and self.start <= local.hour < self.end:
            return now
        if self._business_day(day) == day and local.hour < self.start:
            return self._opening(day)
        return self._opening(self._business_day(day + timedelta(days=1)))

    def local(self, moment: datetime) -> str:
        return moment.astimezone(self.zone).isoformat()


async def business_hours(session: AsyncSession, firm: Firm) -> BusinessHours:
    settings = await get_settings(session, firm.id)
    return BusinessHours(
        zone=ZoneInfo(firm.time_zone),
        start=settings.business_hours_start,
        end=settings.business_hours_end,
        days=tuple(settings.business_days),
    )


def is_closed(invoice: Invoice) -> str | None:
    """Why dunning is over for this invoice, or None while something is owed."""
    if invoice.status not in RECEIVABLE:
        return invoice.status
    if invoice.balance <= 0:
        return "nothing owed"
    return None


async def _handled(session: AsyncSession, invoice: Invoice) -> set[str]:
    rows = await session.scalars(
        select(DunningReminder.step_key).where(
            DUNNING_REMINDERS.owned_by(invoice.firm_id), DunningReminder.invoice_id == invoice.id
        )
    )
    return set(rows)


def _candidates(
    doc: PolicyDoc, due: date, hours: BusinessHours, handled: set[str]
) -> list[tuple[PolicyStep, bool, datetime]]:
    """The policy's steps not yet handled, then the next endless reminder once all are;
    each with whether the late fee applies there and when it is due."""
    fee_offset = next((s.offset_days for s in doc.steps if s.key == doc.late_fee_step), None)
    # A step a policy change put before one already sent would arrive out of order.
    floor = max((s.offset_days for s in doc.steps if s.key in handled), default=None)
    steps = [
        s for s in doc.steps if s.key not in handled and (floor is None or s.offset_days > floor)
    ]
    template = policies.endless_template_step(doc)
    if not steps and doc.endless_every_days and template is not None:
        count = sum(1 for key in handled if key.startswith(policies.ENDLESS_PREFIX))
        offset = doc.steps[-1].offset_days + doc.endless_every_days * (count + 1)
        update = {"key": f"{policies.ENDLESS_PREFIX}{count + 1}", "offset_days": offset}
        steps = [template.model_copy(update=update | {"kind": StepKind.reminder})]
    return [
        (
            step,
            fee_offset is not None and step.offset_days >= fee_offset,
            hours.step_time(due, step.offset_days),
        )
        for step in steps
    ]


def _planned(step: PolicyStep, at: datetime, hours: BusinessHours, fee: bool) -> PlannedStep:
    return PlannedStep(
        key=step.key,
        kind=step.kind.value,
        at=at,
        local_at=hours.local(at),
        late_fee=fee and step.kind != StepKind.escalation,
    )


async def plan(session: AsyncSession, request: PlanInput) -> Plan:
    invoice = await session.get(Invoice, request.invoice_id)
    if invoice is None:
        return Plan(state=DunningState.closed, reason="invoice not found")
    if (reason := is_closed(invoice)) is not None:
        return Plan(state=DunningState.closed, reason=reason)
    firm = await session.get_one(Firm, request.firm_id)
    client = await session.get_one(Client, invoice.client_id)
    hours = await business_hours(session, firm)
    policy = await policies.load_policy(session, request.firm_id)
    version = policy.version
    handled = set(request.handled) | await _handled(session, invoice)
    if INVOICE_STEP not in handled:
        first = PlannedStep(
            key=INVOICE_STEP,
            kind=INVOICE_STEP,
            at=request.now,
            local_at=hours.local(request.now),
        )
        return Plan(state=DunningState.scheduled, policy_version=version, next=first)
    if invoice.dunning_paused or client.dunning_paused:
        which = "invoice" if invoice.dunning_paused else "client"
        return Plan(state=DunningState.waiting, reason=f"paused ({which})", policy_version=version)
    if not policy.enabled:
        return Plan(state=DunningState.waiting, reason="policy disabled", policy_version=version)
    if invoice.due_date is None:
        return Plan(state=DunningState.done, reason="no due date", policy_version=version)
    doc = policies.as_doc(policy)
    started = invoice.sent_at or datetime.min.replace(tzinfo=UTC)
    candidates = [
        (step, fee, at)
        for step, fee, at in _candidates(doc, invoice.due_date, hours, handled)
        if at >= started
    ]
    if not candidates:
        return Plan(state=DunningState.done, reason="every step handled", policy_version=version)
    due = [c for c in candidates if c[2] <= request.now]
    if not due:
        step, fee, at = candidates[0]
        return Plan(
            state=DunningState.scheduled,
            policy_version=version,
            next=_planned(step, at, hours, fee),
        )
    step, fee, _ = due[-1]
    return Plan(
        state=DunningState.scheduled,
        policy_version=version,
        next=_planned(step, hours.next_open(request.now), hours, fee),
        superseded=[s.key for s, _, _ in due[:-1]],
    )


@dataclass(frozen=True)
class Mailer:
    email: EmailProvider
    # Signs the pay link each email carries (services/billing/pay_links.py).
    links: PayLinks
    # Attaches the PDF to the invoice email; without it the email carries the link alone.
    pdfs: InvoiceAttachments | None = None

    def pay_link(self, invoice: Invoice, *, now: datetime) -> str:
        return self.links.issue(invoice.firm_id, invoice.id, now=now).url


def message_id(invoice_id: uuid.UUID, step_key: str) -> str:
    """Deterministic: a retried send carries the same Message-ID, so the receiving side
    drops the duplicate."""
    return f"dunning-{invoice_id}-{step_key}"


async def _record(
    session: AsyncSession,
    invoice: Invoice,
    step_key: str,
    outcome: SendOutcome,
    *,
    recipient: str | None = None,
) -> bool:
    """Insert the step's row; False when it was there already (its unique key)."""
    result = await session.execute(
        insert(DunningReminder)
        .values(
            id=uuid.uuid4(),
            firm_id=invoice.firm_id,
            invoice_id=invoice.id,
            step_key=step_key,
            outcome=outcome.value,
            message_id=message_id(invoice.id, step_key) if outcome == SendOutcome.sent else None,
            recipient=recipient,
        )
        .on_conflict_do_nothing(index_elements=["invoice_id", "step_key"])
        .returning(DunningReminder.id)
    )
    return result.scalar_one_or_none() is not None


def _policy_step(doc: PolicyDoc, key: str) -> PolicyStep | None:
    if key.startswith(policies.ENDLESS_PREFIX):
        return policies.endless_template_step(doc)
    return next((s for s in doc.steps if s.key == key), None)


def _templates(step: PolicyStep | None, key: str) -> tuple[str, str] | None:
    if key == INVOICE_STEP:
        return policies.INVOICE_SUBJECT, policies.INVOICE_BODY
    if step is None or step.subject is None or step.body is None:
        return None
    return step.subject, step.body


def _render(templates: tuple[str, str], context: dict[str, Any], key: str) -> tuple[str, str]:
    """Subject (one line) and body. A template that validated but fails on this invoice's
    values falls back to the shipped overdue reminder rather than sending nothing."""
    subject, body = templates
    try:
        rendered = (
            policies.render_template(subject, context),
            policies.render_template(body, context),
        )
    except expressions.ExpressionError as exc:
        log.warning("dunning step %s: template failed (%s); sent the default", key, exc.message)
        fallback = policies.DEFAULT_POLICY.steps[2]
        assert fallback.subject is not None and fallback.body is not None
        rendered = (
            policies.render_template(fallback.subject, context),
            policies.render_template(fallback.body, context),
        )
    return " ".join(rendered[0].split())[:MAX_SUBJECT_LINE], rendered[1]


async def _escalate(
    session: AsyncSession, principal: Principal, invoice: Invoice, client: Client
) -> None:
    fields = tasks.validate_task_fields(
        {
            "title": f"Collect invoice {invoice.number} ({client.name})"[:200],
            "description": (
                f"Dunning escalated invoice {invoice.number}: due {invoice.due_date}, "
                f"{format_minor(invoice.balance, invoice.currency)} still owed."
            ),
            "client_id": client.id,
        }
    )
    await tasks.create_task(session, principal, fields=fields)
    await mark_in_collections(session, principal, invoice)


async def _audit_step(
    session: AsyncSession, principal: Principal, invoice: Invoice, key: str, event: str
) -> None:
    """The audit entry and the domain event (same name, ``invoice.dunning_<outcome>``) of a
    step carried out; the name is spelled out by each caller so the event catalogue's test
    sees every event emitted."""
    await audit.record(
        session,
        principal,
        action=event,
        record_type="invoice",
        record_id=invoice.id,
        after={"step_key": key, "outcome": event.removeprefix("invoice.dunning_")},
    )
    await outbox.enqueue_message(
        session,
        invoice.firm_id,
        outbox.event(
            event,
            f"invoice.dunning:{invoice.id}:{key}",
            invoice_id=str(invoice.id),
            step_key=key,
        ),
    )


async def send_step(session: AsyncSession, mailer: Mailer, request: SendInput) -> SendResult:
    """Carry out one planned step under the invoice's row lock, held by the caller's
    transaction until it commits."""
    principal = Principal.system(request.firm_id)
    key = request.step.key
    try:
        invoice = await get_invoice(session, principal, request.invoice_id, lock=True)
    except NotFound:
        return SendResult(outcome=SendOutcome.skipped, closed=True)
    if key in await _handled(session, invoice):
        return SendResult(outcome=SendOutcome.already)
    if is_closed(invoice) is not None:
        await _record(session, invoice, key, SendOutcome.skipped)
        return SendResult(outcome=SendOutcome.skipped, closed=True)
    client = await session.get_one(Client, invoice.client_id)
    paused = invoice.dunning_paused or client.dunning_paused
    doc = policies.as_doc(await policies.load_policy(session, request.firm_id))
    step = _policy_step(doc, key)
    templates = _templates(step, key)
    if key != INVOICE_STEP and (paused or not doc.enabled or step is None):
        return SendResult(outcome=SendOutcome.replan)
    for skipped in request.superseded:
        await _record(session, invoice, skipped, SendOutcome.skipped)
    if request.step.kind == StepKind.escalation.value:
        await _escalate(session, principal, invoice, client)
        await _record(session, invoice, key, SendOutcome.escalated)
        await _audit_step(session, principal, invoice, key, "invoice.dunning_escalated")
        return SendResult(outcome=SendOutcome.escalated)
    if templates is None:
        return SendResult(outcome=SendOutcome.replan)
    if request.step.late_fee:
        amount = policies.late_fee_amount(doc, invoice.balance)
        if amount > 0:
            await apply_late_fee(session, principal, invoice, amount)
    if not client.email:
        await _record(session, invoice, key, SendOutcome.skipped)
        await _audit_step(session, principal, invoice, key, "invoice.dunning_skipped")
        return SendResult(outcome=SendOutcome.skipped)
    firm = await session.get_one(Firm, request.firm_id)
    today = request.now.astimezone(ZoneInfo(firm.time_zone)).date()
    context = policies.template_context(
        invoice=invoice,
        client=client,
        firm=firm,
        today=today,
        pay_link=mailer.pay_link(invoice, now=request.now),
    )
    subject, body = _render(templates, context, key)
    if not await _record(session, invoice, key, SendOutcome.sent, recipient=client.email):
        return SendResult(outcome=SendOutcome.already)
    await _audit_step(session, principal, invoice, key, "invoice.dunning_sent")
    pdf = (
        await mailer.pdfs.attachment(session, invoice)
        if key == INVOICE_STEP and mailer.pdfs
        else None
    )
    # Inside the transaction: the row lock is held until the email is out and the
    # reminder row commits with it (a failed send rolls the row back and is retried).
    await mailer.email.send(
        OutgoingEmail(
            message_id=message_id(invoice.id, key),
            to=client.email,
            subject=subject,
            text=body,
            attachments=(pdf,) if pdf else (),
        )
    )
    return SendResult(outcome=SendOutcome.sent)


async def _pause_audit(
    session: AsyncSession,
    principal: Principal,
    record_type: str,
    record_id: uuid.UUID,
    paused: bool,
) -> None:
    await audit.record(
        session,
        principal,
        action=f"{record_type}.dunning_{'paused' if paused else 'resumed'}",
        record_type=record_type,
        record_id=record_id,
        before={"dunning_paused": not paused},
        after={"dunning_paused": paused},
    )


async def set_invoice_paused(
    session: AsyncSession, principal: Principal, invoice_id: uuid.UUID, *, paused: bool
) -> Invoice:
    """Pause or resume one invoice's reminders; its workflow hears of it (each change
    signals once). Setting what is already set changes nothing."""
    invoice = await get_invoice(session, principal, invoice_id, lock=True)
    if invoice.kind != InvoiceKind.invoice:
        raise Conflict(
            "A credit note has no dunning",
            errors=[{"pointer": "/invoice_id", "detail": "is a credit note"}],
        )
    if invoice.dunning_paused != paused:
        invoice.dunning_paused = paused
        await session.flush()
        await _pause_audit(session, principal, "invoice", invoice.id, paused)
        await signal_dunning(
            session,
            principal.firm_id,
            invoice.id,
            dunning.PAUSE_CHANGED_SIGNAL,
            cause=uuid.uuid4().hex,
        )
    return invoice


async def set_client_paused(
    session: AsyncSession, principal: Principal, client_id: uuid.UUID, *, paused: bool
) -> Client:
    """Pause or resume the reminders of every invoice of a client; each open invoice's
    workflow is signalled."""
    client = await CLIENTS.get_or_404(session, principal, client_id, lock=True)
    if client.dunning_paused == paused:
        return client
    client.dunning_paused = paused
    await session.flush()
    await _pause_audit(session, principal, "client", client.id, paused)
    invoice_ids = await session.scalars(
        select(Invoice.id).where(
            INVOICES.owned_by(principal),
            Invoice.client_id == client.id,
            Invoice.kind == InvoiceKind.invoice,
            Invoice.status.in_(RECEIVABLE),
        )
    )
    cause = uuid.uuid4().hex
    await outbox.enqueue_many(
        session,
        principal.firm_id,
        [
            outbox.signal_workflow(
                dunning.workflow_id(i),
                dunning.PAUSE_CHANGED_SIGNAL,
                dedupe_key=f"signal:{dunning.workflow_id(i)}:{dunning.PAUSE_CHANGED_SIGNAL}:{cause}",
            )
            for i in invoice_ids
        ],
    )
    return client


async def reminders_of(
    session: AsyncSession, principal: Principal, invoice_id: uuid.UUID
) -> tuple[Invoice, list[DunningReminder]]:
    """The invoice and its latest reminders (at most ``MAX_REMINDERS_SHOWN``), oldest first."""
    invoice = await get_invoice(session, principal, invoice_id)
    rows = await session.scalars(
        DUNNING_REMINDERS.select(principal)
        .where(DunningReminder.invoice_id == invoice.id)
        .order_by(DunningReminder.created_at.desc(), DunningReminder.id.desc())
        .limit(MAX_REMINDERS_SHOWN)
    )
    return invoice, list(reversed(rows.all()))
