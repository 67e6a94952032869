"""Getting paid through the firm's Stripe account: a Checkout link for an invoice's
balance, and the off-session charge of a saved card that a payment retry makes.

Both reach Stripe with an idempotency key made of business facts. The Checkout key is the
invoice and its balance: asking again for the same balance returns the same session (for
Stripe's 24 hours of key memory), a new balance makes a new session. A retry's key is the
invoice, its balance and the try number: a retried activity never charges twice."""

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.crypto import Cipher
from core.errors import Conflict
from core.principal import Principal
from models import Client, Invoice, InvoiceKind, SavedPaymentMethod
from providers.payments import (
    ChargeRequest,
    ChargeStatus,
    CheckoutLink,
    CheckoutRequest,
    PaymentProviderFactory,
)
from services import firms
from services.billing import stripe_events
from services.billing.invoice_status import RECEIVABLE
from services.billing.invoices import get_invoice
from services.billing.repository import SAVED_METHODS
from services.billing.stripe_account import firm_secret_key
from services.billing.stripe_webhooks import PROVIDER
from workflows.billing.payment_retry.contracts import RetryCall, RetryOutcome

_NOT_CONNECTED = "This firm has not connected Stripe: set its secret key first"


@dataclass(frozen=True)
class CheckoutUrls:
    success_url: str
    cancel_url: str


def checkout_key(invoice: Invoice) -> str:
    return f"checkout:{invoice.id}:{invoice.balance}"


def charge_key(invoice: Invoice, attempt: int) -> str:
    return f"{invoice.id}:{invoice.balance}:{attempt}"


def _payable(invoice: Invoice) -> str | None:
    """Why the invoice cannot be paid now, or None."""
    if invoice.kind != InvoiceKind.invoice:
        return "a credit note is not paid"
    if invoice.status not in RECEIVABLE:
        return f"it is {invoice.status}"
    if invoice.balance <= 0:
        return "nothing is owed"
    return None


async def create_checkout(
    session: AsyncSession,
    principal: Principal,
    invoice_id: uuid.UUID,
    *,
    cipher: Cipher,
    providers: PaymentProviderFactory,
    urls: CheckoutUrls,
) -> CheckoutLink:
    """A Stripe Checkout page for what the invoice owes now."""
    invoice = await get_invoice(session, principal, invoice_id)
    refusal = _payable(invoice)
    if refusal is not None:
        raise Conflict(
            f"This invoice cannot be paid online: {refusal}",
            errors=[{"pointer": "/status", "detail": refusal}],
        )
    secret_key = await firm_secret_key(session, principal.firm_id, cipher)
    if secret_key is None:
        raise Conflict(_NOT_CONNECTED)
    email = await session.scalar(select(Client.email).where(Client.id == invoice.client_id))
    return await providers(secret_key).create_checkout(
        CheckoutRequest(
            firm_id=principal.firm_id,
            invoice_id=invoice.id,
            amount=invoice.balance,
            currency=invoice.currency,
            description=f"Invoice {invoice.number}",
            success_url=urls.success_url,
            cancel_url=urls.cancel_url,
            idempotency_key=checkout_key(invoice),
            customer_email=email,
        )
    )


async def retry_charge(
    session: AsyncSession,
    call: RetryCall,
    *,
    cipher: Cipher,
    providers: PaymentProviderFactory,
) -> RetryOutcome:
    """One try of PaymentRetryWorkflow: charge the saved card for the balance unless the
    invoice no longer needs it; a success is recorded at once."""
    principal = Principal.system(call.firm_id)
    invoice = await get_invoice(session, principal, call.invoice_id)
    refusal = _payable(invoice)
    if refusal is not None:
        return RetryOutcome(status="stopped", detail=refusal)
    method = await session.scalar(
        select(SavedPaymentMethod)
        .where(
            SAVED_METHODS.owned_by(call.firm_id),
            SavedPaymentMethod.client_id == invoice.client_id,
            SavedPaymentMethod.provider == PROVIDER,
            SavedPaymentMethod.detached_at.is_(None),
        )
        .order_by(SavedPaymentMethod.is_default.desc(), SavedPaymentMethod.created_at.desc())
        .limit(1)
    )
    if method is None:
        return RetryOutcome(status="stopped", detail="the client has no saved card")
    secret_key = await firm_secret_key(session, call.firm_id, cipher)
    if secret_key is None:
        return RetryOutcome(status="stopped", detail="Stripe is not connected")
    result = await providers(secret_key).charge_saved_method(
        ChargeRequest(
            firm_id=call.firm_id,
            invoice_id=invoice.id,
            amount=invoice.balance,
            currency=invoice.currency,
            customer_ref=method.customer_ref,
            method_ref=method.method_ref,
            idempotency_key=charge_key(invoice, call.attempt),
            attempt=call.attempt,
        )
    )
    if result.status == ChargeStatus.succeeded and result.payment_intent_id is not None:
        # Like a webhook payment, so Stripe events that waited for it apply now.
        payment = await stripe_events.record_card_payment(
            session,
            principal,
            invoice_id=invoice.id,
            amount=result.amount_received,
            currency=invoice.currency,
            payment_intent=result.payment_intent_id,
            received_on=await firms.firm_today(session, principal),
        )
        return RetryOutcome(
            status="succeeded",
            detail=f"payment {payment.id}",
            payment_intent_id=result.payment_intent_id,
        )
    if result.status == ChargeStatus.processing:
        return RetryOutcome(
            status="processing",
            detail="the charge is processing; its webhook records it",
            payment_intent_id=result.payment_intent_id,
        )
    return RetryOutcome(
        status="failed", detail=result.decline_code, payment_intent_id=result.payment_intent_id
    )
