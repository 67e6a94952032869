"""The client credit ledger and credit notes.

A client's credit in a currency is the sum of its entries and never goes below 0. Granting
credit needs no lock; spending or taking it back locks the client's row first, so two
spends cannot both see the same balance.

A credit note is an invoice of kind ``credit_note`` that credits one issued invoice of
the same client and currency. Issuing it reduces what the invoice owes by up to its
balance; the rest becomes the client's credit. It is created and finalized (numbered with
the credit note prefix) in one go, so it is never seen as a draft."""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import Conflict, Unprocessable
from core.principal import Principal
from models import (
    ClientCredit,
    CreditReason,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    Payment,
)
from services import audit
from services.billing import invoices
from services.billing.dunning_outbox import signal_dunning
from services.billing.invoice_documents import queue_rendering
from services.billing.invoice_lines import LineFields, replace_lines, snapshot_lines
from services.billing.invoice_status import invoice_money, move, settled_status
from services.billing.repository import CREDITS, INVOICES
from services.billing.totals import LineInput
from services.clients import CLIENTS
from services.outbox import writer as outbox
from workflows.billing.dunning import contracts as dunning

# Statuses whose balance a credit note reduces; a paid invoice's credit goes to the client.
_OWING = frozenset(
    {
        InvoiceStatus.open,
        InvoiceStatus.partially_paid,
        InvoiceStatus.uncollectible,
    }
)


async def lock_client(session: AsyncSession, principal: Principal, client_id: uuid.UUID) -> None:
    await CLIENTS.require(session, principal, client_id, lock=True)


async def balance(
    session: AsyncSession, principal: Principal, client_id: uuid.UUID, currency: str
) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(ClientCredit.amount), 0)).where(
            CREDITS.owned_by(principal),
            ClientCredit.client_id == client_id,
            ClientCredit.currency == currency,
        )
    )
    return int(total or 0)


async def balances(
    session: AsyncSession, principal: Principal, client_id: uuid.UUID
) -> dict[str, int]:
    """The client's credit per currency (currencies whose entries sum to 0 included);
    another firm's client is a 404."""
    await CLIENTS.require(session, principal, client_id)
    rows = await session.execute(
        select(ClientCredit.currency, func.sum(ClientCredit.amount))
        .where(CREDITS.owned_by(principal), ClientCredit.client_id == client_id)
        .group_by(ClientCredit.currency)
        .order_by(ClientCredit.currency)
    )
    return {currency: int(amount) for currency, amount in rows.tuples()}


async def grant(
    session: AsyncSession,
    principal: Principal,
    *,
    client_id: uuid.UUID,
    currency: str,
    amount: int,
    reason: CreditReason,
    payment_id: uuid.UUID | None = None,
    invoice_id: uuid.UUID | None = None,
) -> ClientCredit:
    entry = ClientCredit(
        firm_id=principal.firm_id,
        client_id=client_id,
        currency=currency,
        amount=amount,
        reason=reason,
        payment_id=payment_id,
        invoice_id=invoice_id,
        created_by=principal.user_id,
    )
    session.add(entry)
    await session.flush()
    return entry


async def spend(
    session: AsyncSession,
    principal: Principal,
    *,
    client_id: uuid.UUID,
    currency: str,
    amount: int,
    payment_id: uuid.UUID,
    invoice_id: uuid.UUID,
) -> None:
    """A negative entry for credit applied to an invoice; the caller holds the client's
    lock and checked the balance covers it."""
    session.add(
        ClientCredit(
            firm_id=principal.firm_id,
            client_id=client_id,
            currency=currency,
            amount=-amount,
            reason=CreditReason.applied,
            payment_id=payment_id,
            invoice_id=invoice_id,
            created_by=principal.user_id,
        )
    )
    await session.flush()


async def take_back(
    session: AsyncSession,
    principal: Principal,
    *,
    client_id: uuid.UUID,
    currency: str,
    amount: int,
    payment_id: uuid.UUID,
) -> int:
    """Remove up to ``amount`` of the client's credit for a refund; returns how much was
    there to remove (less than asked when the credit was already spent)."""
    await lock_client(session, principal, client_id)
    available = await balance(session, principal, client_id, currency)
    taken = min(amount, available)
    if taken > 0:
        session.add(
            ClientCredit(
                firm_id=principal.firm_id,
                client_id=client_id,
                currency=currency,
                amount=-taken,
                reason=CreditReason.refunded,
                payment_id=payment_id,
                created_by=principal.user_id,
            )
        )
        await session.flush()
    return taken


async def taken_by(session: AsyncSession, refund: Payment) -> int:
    """How much client credit a refund removed."""
    total = await session.scalar(
        select(func.coalesce(func.sum(ClientCredit.amount), 0)).where(
            CREDITS.owned_by(refund.firm_id),
            ClientCredit.payment_id == refund.id,
            ClientCredit.reason == CreditReason.refunded,
        )
    )
    return -int(total or 0)


async def credited_so_far(session: AsyncSession, invoice: Invoice) -> int:
    """The totals of the invoice's credit notes (void ones do not count)."""
    total = await session.scalar(
        select(func.coalesce(func.sum(Invoice.total), 0)).where(
            INVOICES.owned_by(invoice.firm_id),
            Invoice.kind == InvoiceKind.credit_note,
            Invoice.credited_invoice_id == invoice.id,
            Invoice.status != InvoiceStatus.void,
        )
    )
    return int(total or 0)


async def issue_credit_note(
    session: AsyncSession,
    principal: Principal,
    *,
    invoice_id: uuid.UUID,
    lines: Sequence[LineFields] | None = None,
    amount: int | None = None,
    notes: str | None = None,
) -> Invoice:
    """Credit an issued invoice, by ``lines`` (taxed like invoice lines) or by an
    ``amount`` (one untaxed line). The credit notes of an invoice together cannot exceed
    its total; a void invoice or a draft cannot be credited (409)."""
    invoice = await invoices.get_invoice(session, principal, invoice_id, lock=True)
    if (lines is None) == (amount is None):
        raise Unprocessable(
            "Give the credit note's lines or an amount, not both",
            errors=[{"pointer": "/lines", "detail": "give lines or amount"}],
        )
    if invoice.kind == InvoiceKind.credit_note:
        raise Unprocessable(
            "A credit note cannot itself be credited",
            errors=[{"pointer": "/invoice_id", "detail": "this is a credit note"}],
        )
    if invoice.status in (InvoiceStatus.void, InvoiceStatus.draft):
        reason = "void" if invoice.status == InvoiceStatus.void else "a draft (edit it)"
        raise Conflict(
            f"This invoice is {reason}: there is nothing issued to credit",
            errors=[{"pointer": "/status", "detail": f"{invoice.status}, not issued"}],
        )
    pointer = "/lines" if lines is not None else "/amount"
    if amount is not None:
        if amount <= 0:
            raise Unprocessable(
                "The amount must be a positive number of minor units",
                errors=[{"pointer": "/amount", "detail": "must be greater than 0"}],
            )
        lines = [
            LineFields(
                description=f"Credit for invoice {invoice.number}",
                quantity=Decimal(1),
                unit_price=amount,
            )
        ]
        inputs = [LineInput(quantity=Decimal(1), unit_price=amount)]
    else:
        assert lines is not None
        inputs = await snapshot_lines(session, principal, lines)
    room = invoice.total - await credited_so_far(session, invoice)
    note = Invoice(
        firm_id=principal.firm_id,
        client_id=invoice.client_id,
        kind=InvoiceKind.credit_note,
        credited_invoice_id=invoice.id,
        status=InvoiceStatus.draft,
        currency=invoice.currency,
        notes=notes,
        late_fee=0,
        amount_paid=0,
        amount_credited=0,
        in_collections=False,
        dunning_paused=False,
        created_by=principal.user_id,
    )
    session.add(note)
    await session.flush()
    await replace_lines(session, note, lines, inputs)
    if note.total <= 0:
        raise Unprocessable(
            "A credit note must credit something: its total is 0",
            errors=[{"pointer": pointer, "detail": "total is 0"}],
        )
    if note.total > room:
        raise Unprocessable(
            f"At most {room} of this invoice is left to credit; this credit note is {note.total}",
            errors=[{"pointer": pointer, "detail": f"total must be at most {room}"}],
        )
    await session.flush()
    note = await invoices.finalize_invoice(session, principal, note.id)
    note.amount_credited = note.total
    note.balance = 0

    before = invoice_money(invoice)
    to_invoice = min(note.total, invoice.balance) if invoice.status in _OWING else 0
    to_credit = note.total - to_invoice
    if to_invoice > 0:
        invoice.amount_credited += to_invoice
        invoice.balance -= to_invoice
        move(invoice, settled_status(invoice), at=datetime.now(UTC))
    if to_credit > 0:
        await grant(
            session,
            principal,
            client_id=invoice.client_id,
            currency=invoice.currency,
            amount=to_credit,
            reason=CreditReason.credit_note,
            invoice_id=note.id,
        )
    await session.flush()
    await audit.record(
        session,
        principal,
        action="credit_note.issued",
        record_type="invoice",
        record_id=note.id,
        after={
            "number": note.number,
            "credited_invoice_id": str(invoice.id),
            "total": note.total,
            "applied_to_invoice": to_invoice,
            "to_client_credit": to_credit,
        },
    )
    if to_invoice > 0:
        await audit.record(
            session,
            principal,
            action="invoice.credited",
            record_type="invoice",
            record_id=invoice.id,
            before=before,
            after=invoice_money(invoice),
        )
    await outbox.enqueue_message(
        session,
        principal.firm_id,
        outbox.event(
            "credit_note.issued",
            f"credit_note.issued:{note.id}",
            credit_note_id=str(note.id),
            number=note.number,
            invoice_id=str(invoice.id),
            client_id=str(invoice.client_id),
            total=note.total,
            applied_to_invoice=to_invoice,
            to_client_credit=to_credit,
            currency=note.currency,
        ),
    )
    if before["status"] != InvoiceStatus.paid and invoice.status == InvoiceStatus.paid:
        await outbox.enqueue_message(
            session,
            principal.firm_id,
            outbox.event(
                "invoice.paid",
                f"invoice.paid:{invoice.id}:{note.id}",
                invoice_id=str(invoice.id),
                client_id=str(invoice.client_id),
                total=invoice.total,
                currency=invoice.currency,
            ),
        )
    if to_invoice > 0:
        # Its PDF shows what is still owed (and CREDITED once nothing is).
        await queue_rendering(session, principal.firm_id, invoice.id, f"credited-{note.id}")
        # The invoice owes less (maybe nothing): dunning re-reads it now.
        await signal_dunning(
            session,
            principal.firm_id,
            invoice.id,
            dunning.PAYMENT_RECEIVED_SIGNAL,
            cause=str(note.id),
        )
    return note


async def credit_note_to_client_credit(session: AsyncSession, note: Invoice) -> int:
    """How much of a credit note became client credit (what its invoice did not absorb)."""
    total = await session.scalar(
        select(func.coalesce(func.sum(ClientCredit.amount), 0)).where(
            CREDITS.owned_by(note.firm_id),
            ClientCredit.invoice_id == note.id,
            ClientCredit.reason == CreditReason.credit_note,
        )
    )
    return int(total or 0)
