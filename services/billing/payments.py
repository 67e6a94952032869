"""Money received: payments (manual or reported by a provider) and the list of payments and
refunds (refunds themselves are recorded by ``refunds``).

Every change locks the invoice row first (``SELECT … FOR UPDATE``): payments, refunds,
credit notes and the dunning workflow's reminder sends serialise on it, so a reminder never
goes out for an invoice a concurrent payment just settled. A provider's payment or refund
is recorded once per (provider, provider_ref), however often it is reported.

What an invoice cannot absorb is never lost: it becomes client credit (``credits``)."""

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import Conflict, Unprocessable
from core.pagination import Page, PageParams, keyset, to_page
from core.principal import Principal
from models import (
    CreditReason,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    Payment,
    PaymentKind,
    PaymentMethod,
)
from services import audit, firms
from services.billing import credits, invoices
from services.billing.dunning_outbox import signal_dunning
from services.billing.invoice_status import invoice_money, move, settled_status
from services.billing.repository import PAYMENTS
from services.outbox import writer as outbox
from workflows.billing.dunning import contracts as dunning

# Statuses whose balance a payment reduces; on any other the money becomes client credit.
_PAYABLE = frozenset(
    {
        InvoiceStatus.open,
        InvoiceStatus.partially_paid,
        InvoiceStatus.uncollectible,
    }
)


def summarize(payment: Payment) -> dict[str, Any]:
    """The audit summary of a payment or refund: its fields as JSON-ready values."""
    return {
        "kind": payment.kind,
        "invoice_id": str(payment.invoice_id) if payment.invoice_id else None,
        "client_id": str(payment.client_id),
        "refund_of_id": str(payment.refund_of_id) if payment.refund_of_id else None,
        "amount": payment.amount,
        "currency": payment.currency,
        "applied_amount": payment.applied_amount,
        "credited_amount": payment.credited_amount,
        "method": payment.method,
        "received_on": payment.received_on.isoformat(),
        "reference": payment.reference,
        "provider": payment.provider,
        "provider_ref": payment.provider_ref,
    }


async def find_provider_payment(
    session: AsyncSession, principal: Principal, *, provider: str, provider_ref: str
) -> Payment | None:
    """The payment or refund already recorded for this provider id, if any."""
    result: Payment | None = await session.scalar(
        PAYMENTS.select(principal).where(
            Payment.provider == provider,
            Payment.provider_ref == provider_ref,
        )
    )
    return result


async def get_payment(
    session: AsyncSession, principal: Principal, payment_id: uuid.UUID, *, lock: bool = False
) -> Payment:
    return await PAYMENTS.get_or_404(session, principal, payment_id, lock=lock)


def check_provider(provider: str | None, provider_ref: str | None) -> None:
    if (provider is None) != (provider_ref is None):
        raise Unprocessable(
            "provider and provider_ref go together",
            errors=[{"pointer": "/provider_ref", "detail": "set both provider fields or none"}],
        )


def check_amount(amount: int) -> None:
    if amount <= 0:
        raise Unprocessable(
            "The amount must be a positive number of minor units",
            errors=[{"pointer": "/amount", "detail": "must be greater than 0"}],
        )


async def insert_payment(session: AsyncSession, values: dict[str, Any]) -> Payment | None:
    """Insert a payment row; None when its (provider, provider_ref) is already recorded
    (a concurrent report of the same provider payment waits here for the first one)."""
    payment_id = uuid.uuid4()
    inserted = await session.scalar(
        insert(Payment)
        .values(
            id=payment_id,
            **values,
        )
        .on_conflict_do_nothing(
            index_elements=["firm_id", "provider", "provider_ref"],
            index_where=Payment.provider_ref.is_not(None),
        )
        .returning(Payment.id)
    )
    if inserted is None:
        return None
    return await session.scalar(
        select(Payment).where(Payment.id == payment_id).execution_options(populate_existing=True)
    )


async def provider_duplicate(
    session: AsyncSession, principal: Principal, provider: str | None, provider_ref: str | None
) -> Payment:
    existing = (
        await find_provider_payment(
            session, principal, provider=provider, provider_ref=provider_ref
        )
        if provider is not None and provider_ref is not None
        else None
    )
    if existing is None:
        raise RuntimeError("a conflicting provider payment vanished inside the transaction")
    return existing


async def record_payment(
    session: AsyncSession,
    principal: Principal,
    *,
    invoice_id: uuid.UUID,
    amount: int,
    currency: str,
    method: PaymentMethod,
    received_on: date,
    reference: str | None = None,
    provider: str | None = None,
    provider_ref: str | None = None,
) -> Payment:
    """Record money received for an invoice. The invoice takes at most its balance; the
    rest (all of it on a paid, void or draft invoice, or a credit note) becomes the
    client's credit. A manual payment on a draft is refused: finalize it first. Reporting
    the same provider payment again returns the first row and changes nothing."""
    invoice = await invoices.get_invoice(session, principal, invoice_id, lock=True)
    check_provider(provider, provider_ref)
    check_amount(amount)
    if provider is not None and provider_ref is not None:
        existing = await find_provider_payment(
            session, principal, provider=provider, provider_ref=provider_ref
        )
        if existing is not None:
            return existing
    if currency != invoice.currency:
        raise Unprocessable(
            f"This invoice is in {invoice.currency}; record the payment in that currency",
            errors=[{"pointer": "/currency", "detail": f"must be {invoice.currency}"}],
        )
    if provider is None and (
        invoice.status == InvoiceStatus.draft or invoice.kind == InvoiceKind.credit_note
    ):
        what = "a credit note" if invoice.kind == InvoiceKind.credit_note else "a draft"
        raise Unprocessable(
            f"Payments are not recorded against {what}; finalize or choose an invoice",
            errors=[{"pointer": "/invoice_id", "detail": f"the invoice is {what}"}],
        )
    payment = await _record(
        session,
        principal,
        invoice,
        {
            "amount": amount,
            "currency": currency,
            "method": method,
            "received_on": received_on,
            "reference": reference,
            "provider": provider,
            "provider_ref": provider_ref,
        },
    )
    return payment or await provider_duplicate(session, principal, provider, provider_ref)


async def _record(
    session: AsyncSession, principal: Principal, invoice: Invoice, fields: dict[str, Any]
) -> Payment | None:
    """Record a payment on a locked invoice: the split, the invoice's money and status,
    credit for the rest, audit, events and the dunning signal. None when the provider
    payment is already recorded (and nothing changed)."""
    amount: int = fields["amount"]
    currency: str = fields["currency"]
    payable = invoice.kind == InvoiceKind.invoice and invoice.status in _PAYABLE
    applied = min(amount, invoice.balance) if payable else 0
    credited = amount - applied
    payment = await insert_payment(
        session,
        {
            "firm_id": principal.firm_id,
            "client_id": invoice.client_id,
            "invoice_id": invoice.id if applied > 0 else None,
            "kind": PaymentKind.payment,
            "applied_amount": applied,
            "credited_amount": credited,
            "created_by": principal.user_id,
            **fields,
        },
    )
    if payment is None:
        return None
    before = invoice_money(invoice)
    now = datetime.now(UTC)
    if applied > 0:
        invoice.amount_paid += applied
        invoice.balance -= applied
        move(invoice, settled_status(invoice), at=now)
    if credited > 0:
        reason = CreditReason.overpayment if payable else CreditReason.payment_on_closed_invoice
        await credits.grant(
            session,
            principal,
            client_id=invoice.client_id,
            currency=currency,
            amount=credited,
            reason=reason,
            payment_id=payment.id,
            invoice_id=invoice.id,
        )
    await session.flush()
    await audit.record(
        session,
        principal,
        action="payment.recorded",
        record_type="payment",
        record_id=payment.id,
        after=summarize(payment),
    )
    if applied > 0:
        await audit.record(
            session,
            principal,
            action="invoice.payment_applied",
            record_type="invoice",
            record_id=invoice.id,
            before=before,
            after=invoice_money(invoice),
        )
    await outbox.enqueue_message(
        session,
        principal.firm_id,
        outbox.event(
            "payment.received",
            f"payment.received:{payment.id}",
            payment_id=str(payment.id),
            invoice_id=str(invoice.id),
            client_id=str(invoice.client_id),
            amount=amount,
            applied_amount=applied,
            credited_amount=credited,
            currency=currency,
        ),
    )
    if (
        applied > 0
        and before["status"] != InvoiceStatus.paid
        and invoice.status == InvoiceStatus.paid
    ):
        await outbox.enqueue_message(
            session,
            principal.firm_id,
            outbox.event(
                "invoice.paid",
                f"invoice.paid:{invoice.id}:{payment.id}",
                invoice_id=str(invoice.id),
                client_id=str(invoice.client_id),
                total=invoice.total,
                currency=invoice.currency,
            ),
        )
    await signal_dunning(
        session,
        principal.firm_id,
        invoice.id,
        dunning.PAYMENT_RECEIVED_SIGNAL,
        cause=str(payment.id),
    )
    return payment


async def apply_credit(
    session: AsyncSession, principal: Principal, *, invoice_id: uuid.UUID, amount: int | None
) -> Payment:
    """Spend the client's credit in the invoice's currency on an open, partially paid or
    written-off invoice: ``amount``, or as much as both allow when it is None. Recorded as
    a payment of method ``credit`` and a matching negative credit entry."""
    invoice = await invoices.get_invoice(session, principal, invoice_id, lock=True)
    if invoice.kind != InvoiceKind.invoice or invoice.status not in _PAYABLE:
        raise Conflict(
            f"Credit is applied only to an invoice that is owed; this one is {invoice.status}",
            errors=[{"pointer": "/status", "detail": f"{invoice.status}, not owed"}],
        )
    if amount is not None:
        check_amount(amount)
    # Spends of one client's credit queue here: each sees the balance the last one left.
    await credits.lock_client(session, principal, invoice.client_id)
    available = await credits.balance(session, principal, invoice.client_id, invoice.currency)
    spend = min(available, invoice.balance) if amount is None else amount
    if spend > invoice.balance:
        raise Unprocessable(
            f"The invoice owes {invoice.balance}; apply at most that",
            errors=[{"pointer": "/amount", "detail": f"must be at most {invoice.balance}"}],
        )
    if spend > available or spend == 0:
        raise Unprocessable(
            f"The client has {available} {invoice.currency} of credit",
            errors=[{"pointer": "/amount", "detail": f"{available} credit available"}],
        )
    payment = await _record(
        session,
        principal,
        invoice,
        {
            "amount": spend,
            "currency": invoice.currency,
            "method": PaymentMethod.credit,
            "received_on": await firms.firm_today(session, principal),
        },
    )
    if payment is None:
        raise RuntimeError("a payment without a provider reference cannot be a duplicate")
    await credits.spend(
        session,
        principal,
        client_id=invoice.client_id,
        currency=invoice.currency,
        amount=spend,
        payment_id=payment.id,
        invoice_id=invoice.id,
    )
    return payment


@dataclass(frozen=True)
class PaymentFilters:
    client_id: uuid.UUID | None = None
    invoice_id: uuid.UUID | None = None


def payments_query(
    principal: Principal, filters: PaymentFilters, page: PageParams
) -> Select[Payment]:
    stmt = PAYMENTS.select(principal)
    if filters.client_id is not None:
        stmt = stmt.where(Payment.client_id == filters.client_id)
    if filters.invoice_id is not None:
        stmt = stmt.where(Payment.invoice_id == filters.invoice_id)
    return keyset(stmt, Payment.created_at, Payment.id, page)


async def list_payments(
    session: AsyncSession, principal: Principal, *, filters: PaymentFilters, page: PageParams
) -> Page[Payment]:
    """Payments and refunds, newest first."""
    rows = (await session.scalars(payments_query(principal, filters, page))).all()
    return to_page(rows, page)
