"""The invoice status machine: which status may follow which, the status money moves
imply, and what an invoice owes in each status. Every service that changes an invoice's
status or money goes through ``move``, which keeps ``balance`` equal to ``balance_due``;
an illegal move is a 409 that says why.

    draft ──finalize──▶ open ──▶ partially_paid ──▶ paid
                          │            │              │ (a refund moves back)
                          ├──▶ void    └──▶ uncollectible ──▶ paid (paid in full after all)
                          └──▶ uncollectible
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.errors import Conflict
from models import Invoice, InvoiceKind, InvoiceStatus

S = InvoiceStatus

ALLOWED: dict[InvoiceStatus, frozenset[InvoiceStatus]] = {
    # A draft is finalized (numbered) or deleted; it is never voided.
    S.draft: frozenset({S.open}),
    S.open: frozenset({S.partially_paid, S.paid, S.void, S.uncollectible}),
    # Money was received: void would lose it (refund first); write-off stays possible.
    S.partially_paid: frozenset({S.open, S.paid, S.uncollectible}),
    # Only a refund or a reversed payment takes an invoice back from paid.
    S.paid: frozenset({S.open, S.partially_paid}),
    S.uncollectible: frozenset({S.paid}),
    S.void: frozenset(),
}

_REASONS: dict[InvoiceStatus, str] = {
    S.draft: "a draft must be finalized first",
    S.void: "a void invoice is final",
    S.paid: "a paid invoice only changes through a refund",
    S.partially_paid: "it has payments; refund them first",
    S.uncollectible: "it was written off; only a payment changes it now",
}


# What counts as receivable (aging, dunning, late fees): a void invoice owes nothing and a
# written-off one is bad debt, no longer expected, although a payment may still settle it.
RECEIVABLE: tuple[InvoiceStatus, ...] = (S.open, S.partially_paid)


def balance_due(invoice: Invoice) -> int:
    """What the client still owes on an invoice: its total less what was paid and credited,
    and nothing once void (a void invoice was cancelled, so it was never owed). A written-off
    invoice keeps its balance, as Stripe's ``amount_remaining`` does on an uncollectible
    invoice: it is the amount written off, and a payment may still settle it. Migration
    0012's check constraint holds the table to the same rule."""
    if invoice.status == S.void:
        return 0
    return invoice.total - invoice.amount_paid - invoice.amount_credited


def invoice_money(invoice: Invoice) -> dict[str, Any]:
    """The invoice's status and money, as the audit records it before and after a payment,
    refund or credit note changes them."""
    return {
        "status": invoice.status,
        "amount_paid": invoice.amount_paid,
        "amount_credited": invoice.amount_credited,
        "balance": invoice.balance,
    }


@dataclass(frozen=True)
class Standing:
    """How a document shows an invoice's status: the stamp across it (None for an open
    invoice or a credit note) and the label of its balance line."""

    mark: str | None
    balance_label: str


def standing(invoice: Invoice) -> Standing:
    if invoice.kind == InvoiceKind.credit_note:
        return Standing(None, "Balance due")
    status = invoice.status
    # Settled by credit notes alone, "paid" would claim money that never arrived.
    by_credit = invoice.amount_paid == 0 and invoice.amount_credited > 0
    marks: dict[InvoiceStatus, str | None] = {
        S.draft: "DRAFT",
        S.open: None,
        S.partially_paid: "PARTIALLY CREDITED" if by_credit else "PARTIALLY PAID",
        S.paid: "CREDITED" if by_credit else "PAID",
        S.void: "VOID",
        S.uncollectible: "UNCOLLECTIBLE",
    }
    label = "Balance written off" if status == S.uncollectible else "Balance due"
    return Standing(marks[status], label)


class IllegalTransition(Conflict):
    title = "Illegal status change"
    slug = "illegal-transition"


def move(invoice: Invoice, target: InvoiceStatus, *, at: datetime) -> None:
    """Change ``invoice.status`` to ``target``, stamp the time and set the balance it
    implies, or raise a 409."""
    current = invoice.status
    if current != target:
        _enter(invoice, current, target, at)
    invoice.balance = balance_due(invoice)


def _enter(invoice: Invoice, current: InvoiceStatus, target: InvoiceStatus, at: datetime) -> None:
    if target not in ALLOWED[current]:
        reason = _REASONS.get(current, f"{current} cannot become {target}")
        raise IllegalTransition(
            f"This {current} invoice cannot become {target}: {reason}",
            errors=[{"pointer": "/status", "detail": f"{current} -> {target}"}],
        )
    invoice.status = target
    if target == S.open and invoice.finalized_at is None:
        invoice.finalized_at = at
    elif target == S.paid:
        invoice.paid_at = at
    elif target == S.void:
        invoice.voided_at = at
    elif target == S.uncollectible:
        invoice.uncollectible_at = at
    if target != S.paid:
        invoice.paid_at = None


def settled_status(invoice: Invoice) -> InvoiceStatus:
    """The status an issued invoice's money implies, after a payment, refund or credit
    changed ``amount_paid``/``amount_credited``/``balance``. Void and draft invoices and
    credit notes keep theirs; a written-off invoice stays so until it is fully paid."""
    current = invoice.status
    if invoice.kind == InvoiceKind.credit_note or current in (S.draft, S.void):
        return current
    if invoice.balance == 0:
        return S.paid
    if current == S.uncollectible:
        return current
    if invoice.amount_paid + invoice.amount_credited > 0:
        return S.partially_paid
    return S.open
