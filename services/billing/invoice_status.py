"""The invoice status machine: which status may follow which, and the status money moves
imply. Every service that changes an invoice's status goes through ``move``; an illegal
move is a 409 that says why.

    draft ──finalize──▶ open ──▶ partially_paid ──▶ paid
                          │            │              │ (a refund moves back)
                          ├──▶ void    └──▶ uncollectible ──▶ paid (paid in full after all)
                          └──▶ uncollectible
"""

from datetime import datetime

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


class IllegalTransition(Conflict):
    title = "Illegal status change"
    slug = "illegal-transition"


def move(invoice: Invoice, target: InvoiceStatus, *, at: datetime) -> None:
    """Change ``invoice.status`` to ``target`` and stamp the time, or raise a 409."""
    current = InvoiceStatus(invoice.status)
    if current == target:
        return
    if target not in ALLOWED[current]:
        reason = _REASONS.get(current, f"{current.value} cannot become {target.value}")
        raise IllegalTransition(
            f"This {current.value} invoice cannot become {target.value}: {reason}",
            errors=[{"pointer": "/status", "detail": f"{current.value} -> {target.value}"}],
        )
    invoice.status = target.value
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
    current = InvoiceStatus(invoice.status)
    if invoice.kind == InvoiceKind.credit_note.value or current in (S.draft, S.void):
        return current
    if invoice.balance == 0:
        return S.paid
    if current == S.uncollectible:
        return current
    if invoice.amount_paid + invoice.amount_credited > 0:
        return S.partially_paid
    return S.open
