"""Invoices: drafts (create, edit, delete), finalization with a gapless number, sending,
the status moves people make (void, uncollectible), the late fee and the collections mark
dunning applies, and the filtered list.

Every function takes the acting principal, which may be ``Principal.system(firm_id)``
(recurring invoices, dunning activities); an id from another firm is a 404. Services
flush and never commit. Every status change goes through ``invoice_status.move``."""

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, String, literal_column, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from core.errors import Conflict, Unprocessable
from core.pagination import Page, PageParams, keyset, to_page
from core.principal import Principal
from models import Firm, Invoice, InvoiceKind, InvoiceLine, InvoiceStatus
from services import audit
from services.billing import numbering
from services.billing.bill_to import bill_to
from services.billing.dunning_outbox import start_dunning
from services.billing.invoice_documents import queue_rendering
from services.billing.invoice_fields import InvoiceFields, InvoicePatch, validate_invoice_fields
from services.billing.invoice_lines import (
    Discount,
    inputs_of,
    lines_of,
    replace_lines,
    snapshot_lines,
    store_totals,
    totals_for,
)
from services.billing.invoice_status import RECEIVABLE, IllegalTransition, move
from services.billing.repository import INVOICES
from services.billing.seller import require_invoice_details
from services.billing.settings import get_settings
from services.clients import CLIENTS
from services.firms import firm_today
from services.outbox import writer as outbox

__all__ = [
    "InvoiceFields",
    "InvoiceFilters",
    "InvoicePatch",
    "apply_late_fee",
    "create_invoice",
    "delete_invoice",
    "finalize_invoice",
    "get_invoice",
    "invoices_query",
    "lines_of",
    "list_invoices",
    "mark_in_collections",
    "mark_uncollectible",
    "send_invoice",
    "update_invoice",
    "validate_invoice_fields",
    "void_invoice",
]


def summarize(invoice: Invoice) -> dict[str, Any]:
    """The audit summary: the invoice's fields as JSON-ready values."""

    def day(value: date | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "number": invoice.number,
        "kind": invoice.kind,
        "status": invoice.status,
        "client_id": str(invoice.client_id),
        "currency": invoice.currency,
        "issue_date": day(invoice.issue_date),
        "due_date": day(invoice.due_date),
        "payment_terms_days": invoice.payment_terms_days,
        "notes": invoice.notes,
        "discount_kind": invoice.discount_kind,
        "discount_value": str(invoice.discount_value),
        "total": invoice.total,
        "late_fee": invoice.late_fee,
        "balance": invoice.balance,
        "in_collections": invoice.in_collections,
    }


def _event(name: str, invoice: Invoice, **extra: Any) -> outbox.NewMessage:
    return outbox.event(
        name,
        f"{name}:{invoice.id}",
        invoice_id=str(invoice.id),
        client_id=str(invoice.client_id),
        number=invoice.number,
        kind=invoice.kind,
        currency=invoice.currency,
        total=invoice.total,
        balance=invoice.balance,
        **extra,
    )


async def _check_client(session: AsyncSession, principal: Principal, client_id: uuid.UUID) -> None:
    await CLIENTS.require(session, principal, client_id, pointer="/client_id")


def _set_discount(invoice: Invoice, discount: Discount | None) -> None:
    invoice.discount_kind = discount.kind if discount else None
    invoice.discount_value = discount.value if discount else Decimal(0)


async def create_invoice(
    session: AsyncSession, principal: Principal, *, fields: InvoiceFields
) -> Invoice:
    """A draft with its lines and totals; tax rates are snapshotted now."""
    await _check_client(session, principal, fields.client_id)
    inputs = await snapshot_lines(session, principal, fields.lines)
    terms = fields.payment_terms_days
    if fields.due_date is None and terms is None:
        terms = (await get_settings(session, principal.firm_id)).default_payment_terms_days
    currency = fields.currency or await session.scalar(
        select(Firm.default_currency).where(Firm.id == principal.firm_id)
    )
    invoice = Invoice(
        firm_id=principal.firm_id,
        client_id=fields.client_id,
        kind=InvoiceKind.invoice,
        status=InvoiceStatus.draft,
        currency=currency,
        issue_date=fields.issue_date,
        due_date=fields.due_date,
        payment_terms_days=terms,
        notes=fields.notes,
        late_fee=0,
        amount_paid=0,
        amount_credited=0,
        in_collections=False,
        dunning_paused=False,
        created_by=principal.user_id,
    )
    _set_discount(invoice, fields.discount)
    session.add(invoice)
    await session.flush()
    await replace_lines(session, invoice, fields.lines, inputs)
    await session.flush()
    await session.refresh(invoice)
    await audit.record(
        session,
        principal,
        action="invoice.created",
        record_type="invoice",
        record_id=invoice.id,
        after=summarize(invoice),
    )
    return invoice


async def get_invoice(
    session: AsyncSession, principal: Principal, invoice_id: uuid.UUID, *, lock: bool = False
) -> Invoice:
    """The firm's invoice (or credit note); ``lock`` takes it FOR UPDATE until commit."""
    return await INVOICES.get_or_404(session, principal, invoice_id, lock=lock)


def _immutable(invoice: Invoice) -> Conflict:
    return Conflict(
        f"This {invoice.status} invoice is finalized and cannot be edited or deleted; "
        "void it or issue a credit note instead",
        errors=[{"pointer": "/status", "detail": f"{invoice.status}, not draft"}],
    )


async def _changed(
    session: AsyncSession,
    principal: Principal,
    invoice: Invoice,
    action: str,
    before: dict[str, Any],
    **extra: Any,
) -> Invoice:
    await session.flush()
    await session.refresh(invoice)
    await audit.record_changes(
        session,
        principal,
        action=action,
        record_type="invoice",
        record_id=invoice.id,
        before=before,
        after=summarize(invoice),
        extra=extra,
    )
    return invoice


async def update_invoice(
    session: AsyncSession, principal: Principal, invoice_id: uuid.UUID, *, patch: InvoicePatch
) -> Invoice:
    """Change a draft; a finalized invoice is a 409."""
    invoice = await get_invoice(session, principal, invoice_id, lock=True)
    if invoice.status != InvoiceStatus.draft:
        raise _immutable(invoice)
    before = summarize(invoice)
    given = patch.model_fields_set
    if patch.client_id is not None and patch.client_id != invoice.client_id:
        await _check_client(session, principal, patch.client_id)
        invoice.client_id = patch.client_id
    if patch.currency is not None:
        invoice.currency = patch.currency
    for name in ("issue_date", "notes"):
        if name in given:
            setattr(invoice, name, getattr(patch, name))
    if "due_date" in given:
        invoice.due_date = patch.due_date
        if patch.due_date is not None:
            invoice.payment_terms_days = None
    if "payment_terms_days" in given:
        invoice.payment_terms_days = patch.payment_terms_days
        if patch.payment_terms_days is not None:
            invoice.due_date = None
    if invoice.due_date and invoice.issue_date and invoice.due_date < invoice.issue_date:
        raise Unprocessable(
            "The due date is before the issue date",
            errors=[{"pointer": "/due_date", "detail": "before issue_date"}],
        )
    if "discount" in given:
        _set_discount(invoice, patch.discount)
    if patch.lines is not None:
        inputs = await snapshot_lines(session, principal, patch.lines)
        await replace_lines(session, invoice, patch.lines, inputs)
    elif "discount" in given:
        store_totals(invoice, totals_for(invoice, inputs_of(await lines_of(session, invoice))))
    return await _changed(session, principal, invoice, "invoice.updated", before)


async def delete_invoice(
    session: AsyncSession, principal: Principal, invoice_id: uuid.UUID
) -> None:
    """Delete a draft (its lines go with it); a finalized invoice is a 409."""
    invoice = await get_invoice(session, principal, invoice_id, lock=True)
    if invoice.status != InvoiceStatus.draft:
        raise _immutable(invoice)
    before = summarize(invoice)
    await session.delete(invoice)
    await session.flush()
    await audit.record(
        session,
        principal,
        action="invoice.deleted",
        record_type="invoice",
        record_id=invoice_id,
        before=before,
    )


async def _finalize(session: AsyncSession, principal: Principal, invoice: Invoice) -> None:
    """Date, number and open a locked draft. The number's counter stays locked until the
    caller's transaction ends, so a rollback gives the number back."""
    if invoice.status != InvoiceStatus.draft:
        raise IllegalTransition(
            f"This {invoice.status} invoice cannot be finalized: it is already finalized",
            errors=[{"pointer": "/status", "detail": f"{invoice.status} -> open"}],
        )
    settings = await get_settings(session, principal.firm_id)
    require_invoice_details(settings)
    issue_date = invoice.issue_date or await firm_today(session, principal)
    if invoice.due_date is None and invoice.kind == InvoiceKind.invoice:
        terms = invoice.payment_terms_days
        days = settings.default_payment_terms_days if terms is None else terms
        invoice.due_date = issue_date + timedelta(days=days)
    if invoice.due_date is not None and invoice.due_date < issue_date:
        raise Unprocessable(
            f"The due date {invoice.due_date} is before the issue date {issue_date}",
            errors=[{"pointer": "/due_date", "detail": "before the issue date"}],
        )
    credit_note = invoice.kind == InvoiceKind.credit_note
    invoice.issue_date = issue_date
    client = await CLIENTS.get(session, principal, invoice.client_id)
    if client is not None:
        invoice.bill_to = bill_to(client)
    invoice.number = await numbering.next_number(
        session,
        principal.firm_id,
        template=settings.credit_note_number_prefix
        if credit_note
        else settings.invoice_number_prefix,
        digits=settings.invoice_number_digits,
        issue_date=issue_date,
    )
    move(invoice, InvoiceStatus.open, at=datetime.now(UTC))
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        # Only when the firm changed its prefix or digits so that a new number spells an
        # old one (prefix "A1" + "01" = prefix "A" + "101").
        raise Conflict(
            f"The number {invoice.number} is already used; change the numbering prefix",
            errors=[{"pointer": "/number", "detail": "already used"}],
        ) from exc
    await outbox.enqueue_message(session, principal.firm_id, _event("invoice.finalized", invoice))
    await queue_rendering(session, principal.firm_id, invoice.id, "finalized")


async def finalize_invoice(
    session: AsyncSession, principal: Principal, invoice_id: uuid.UUID
) -> Invoice:
    """Draft -> open: dated (today in the firm's time zone unless set), due date from the
    terms, numbered. Anything but a draft is a 409."""
    invoice = await get_invoice(session, principal, invoice_id, lock=True)
    before = summarize(invoice)
    await _finalize(session, principal, invoice)
    return await _changed(session, principal, invoice, "invoice.finalized", before)


async def send_invoice(
    session: AsyncSession, principal: Principal, invoice_id: uuid.UUID
) -> Invoice:
    """Finalize a draft, stamp ``sent_at``, emit ``invoice.sent`` (delivery listens to it)
    and start the invoice's dunning. An invoice already sent is returned unchanged, so a
    retried activity is harmless. Void and written-off invoices are a 409."""
    invoice = await get_invoice(session, principal, invoice_id, lock=True)
    if invoice.sent_at is not None:
        return invoice
    before = summarize(invoice)
    if invoice.status == InvoiceStatus.draft:
        await _finalize(session, principal, invoice)
        await audit.record(
            session,
            principal,
            action="invoice.finalized",
            record_type="invoice",
            record_id=invoice.id,
            after={"number": invoice.number, "status": invoice.status},
        )
    if invoice.status in (InvoiceStatus.void, InvoiceStatus.uncollectible):
        raise IllegalTransition(
            f"This {invoice.status} invoice cannot be sent",
            errors=[{"pointer": "/status", "detail": f"{invoice.status} is not sendable"}],
        )
    invoice.sent_at = datetime.now(UTC)
    await outbox.enqueue_message(session, principal.firm_id, _event("invoice.sent", invoice))
    if invoice.kind == InvoiceKind.invoice and invoice.status in RECEIVABLE:
        await start_dunning(session, principal.firm_id, invoice.id)
    return await _changed(
        session, principal, invoice, "invoice.sent", before, sent_at=invoice.sent_at.isoformat()
    )


async def _move(
    session: AsyncSession,
    principal: Principal,
    invoice_id: uuid.UUID,
    target: InvoiceStatus,
    event: str,
    **extra: Any,
) -> Invoice:
    invoice = await get_invoice(session, principal, invoice_id, lock=True)
    if invoice.status == target:
        return invoice
    if invoice.status == InvoiceStatus.draft:
        # move() would say "finalize first"; a draft is deleted instead.
        raise IllegalTransition(
            f"This draft invoice cannot become {target}: delete the draft instead",
            errors=[{"pointer": "/status", "detail": f"draft -> {target}"}],
        )
    if invoice.kind == InvoiceKind.credit_note:
        # Its credit already reduced the invoice and the client's credit; voiding or
        # writing it off would leave that credit in place.
        raise IllegalTransition(
            f"A credit note cannot become {target}: its credit is already applied; "
            "issue a new invoice to charge the amount again",
            errors=[{"pointer": "/status", "detail": f"credit note -> {target}"}],
        )
    before = summarize(invoice)
    move(invoice, target, at=datetime.now(UTC))
    await outbox.enqueue_message(session, principal.firm_id, _event(event, invoice, **extra))
    if target == InvoiceStatus.void:
        # The PDF the client holds must say it is void.
        await queue_rendering(session, principal.firm_id, invoice.id, "voided")
    return await _changed(session, principal, invoice, event, before, **extra)


async def void_invoice(
    session: AsyncSession, principal: Principal, invoice_id: uuid.UUID, *, reason: str | None
) -> Invoice:
    """Open -> void (an invoice with payments is refunded first). Voiding a void invoice
    changes nothing. Dunning stops at its next step, when it re-reads the invoice."""
    return await _move(
        session, principal, invoice_id, InvoiceStatus.void, "invoice.voided", reason=reason
    )


async def mark_uncollectible(
    session: AsyncSession, principal: Principal, invoice_id: uuid.UUID
) -> Invoice:
    """Write the invoice off; a later payment in full still makes it paid."""
    return await _move(
        session, principal, invoice_id, InvoiceStatus.uncollectible, "invoice.uncollectible"
    )


def _own(principal: Principal, invoice: Invoice) -> None:
    if invoice.firm_id != principal.firm_id:
        raise INVOICES.not_found()


async def apply_late_fee(
    session: AsyncSession, principal: Principal, invoice: Invoice, amount: int
) -> bool:
    """Add a late fee once to an invoice still owed (pass one read with ``lock=True``);
    total and balance are recomputed through the totals function. False when a fee was
    already applied, the invoice is no longer owed, or ``amount`` is not positive."""
    _own(principal, invoice)
    if invoice.late_fee_applied_at is not None or amount <= 0 or invoice.status not in RECEIVABLE:
        return False
    before = summarize(invoice)
    totals = totals_for(invoice, inputs_of(await lines_of(session, invoice)), late_fee=amount)
    store_totals(invoice, totals)
    invoice.late_fee_applied_at = datetime.now(UTC)
    await _changed(session, principal, invoice, "invoice.late_fee_applied", before)
    return True


async def mark_in_collections(
    session: AsyncSession, principal: Principal, invoice: Invoice
) -> bool:
    """Mark an invoice still owed as in collections, once (pass one read with
    ``lock=True``); emits ``invoice.in_collections``. False when already marked or no
    longer owed."""
    _own(principal, invoice)
    if invoice.in_collections or invoice.status not in RECEIVABLE:
        return False
    before = summarize(invoice)
    invoice.in_collections = True
    await outbox.enqueue_message(
        session, principal.firm_id, _event("invoice.in_collections", invoice)
    )
    await _changed(session, principal, invoice, "invoice.in_collections", before)
    return True


@dataclass(frozen=True)
class InvoiceFilters:
    """``in_collections`` keeps the invoices escalated to collections that are still owed."""

    status: InvoiceStatus | None = None
    client_id: uuid.UUID | None = None
    kind: InvoiceKind | None = None
    in_collections: bool = False


def _constant(value: str) -> ColumnElement[str]:
    """A status or kind written into the SQL rather than bound: the planner proves a partial
    index's predicate only from constants."""
    return literal_column(f"'{value}'", String)


def invoices_query(
    principal: Principal, filters: InvoiceFilters, page: PageParams
) -> Select[Invoice]:
    """Newest first; each filter has an index ending in the keyset order (migration 0009)."""
    stmt = INVOICES.select(principal)
    if filters.status is not None:
        stmt = stmt.where(Invoice.status == filters.status)
    if filters.client_id is not None:
        stmt = stmt.where(Invoice.client_id == filters.client_id)
    if filters.kind is not None:
        stmt = stmt.where(Invoice.kind == filters.kind)
    if filters.in_collections:
        # ix_invoices_in_collections' predicate, spelled out.
        stmt = stmt.where(
            Invoice.in_collections,
            Invoice.status.in_([_constant(status) for status in RECEIVABLE]),
            Invoice.kind == _constant(InvoiceKind.invoice),
        )
    return keyset(stmt, Invoice.created_at, Invoice.id, page)


async def list_invoices(
    session: AsyncSession, principal: Principal, *, filters: InvoiceFilters, page: PageParams
) -> Page[Invoice]:
    rows = (await session.scalars(invoices_query(principal, filters, page))).all()
    return to_page(rows, page)


async def lines_by_invoice(
    session: AsyncSession, invoices: list[Invoice]
) -> dict[uuid.UUID, list[InvoiceLine]]:
    """The lines of several invoices in one query."""
    if not invoices:
        return {}
    rows = await session.scalars(
        select(InvoiceLine)
        .where(InvoiceLine.invoice_id.in_([invoice.id for invoice in invoices]))
        .order_by(InvoiceLine.invoice_id, InvoiceLine.position)
    )
    grouped: dict[uuid.UUID, list[InvoiceLine]] = {invoice.id: [] for invoice in invoices}
    for line in rows:
        grouped[line.invoice_id].append(line)
    return grouped
