"""The client-facing invoice behind a pay link (``/pay/<invoice id>?t=<token>``): what the
client sees and the Stripe Checkout it pays through, authorised by the token alone.

The token names the firm; everything after it runs in a tenant session of that firm as the
system principal, limited to the one invoice the token was signed for. A forged, expired,
malformed or other invoice's token, an unknown invoice, a draft or a credit note: the same
404, so a caller learns nothing about which it was. An invoice that owes nothing (paid,
void) is still shown, with its state; only its checkout is refused (409)."""

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.config import Settings
from core.crypto import Cipher
from core.db import scope_to_firm
from core.errors import Conflict, NotFound
from core.principal import Principal
from models import Client, Firm, Invoice, InvoiceKind, InvoiceStatus
from providers.payments import CheckoutLink, PaymentProviderFactory
from providers.storage import Storage
from services.billing import checkout, rendering
from services.billing.invoice_documents import public_pdf_url
from services.billing.invoice_lines import lines_of
from services.billing.invoice_status import RECEIVABLE
from services.billing.pay_links import PayLink, PayLinks
from services.billing.repository import INVOICES
from services.billing.settings import get_settings
from services.billing.stripe_account import firm_secret_key
from services.clients import CLIENTS


class PayLinkInvalid(NotFound):
    title = "Link not valid"
    slug = "pay-link-invalid"


_INVALID = "This payment link is not valid or has expired. Ask the firm for a new link."


@dataclass(frozen=True)
class OpenedInvoice:
    invoice: Invoice
    principal: Principal
    # The verified token: the way back from Stripe to the pay page carries it.
    token: str


async def open_invoice(
    session: AsyncSession,
    links: PayLinks,
    invoice_id: uuid.UUID,
    token: str | None,
    *,
    now: datetime,
    request_id: str | None = None,
) -> OpenedInvoice:
    """The invoice the token opens, in a session scoped to its firm; 404 otherwise."""
    firm_id = links.firm_of(token, invoice_id, now=now)
    if firm_id is None:
        raise PayLinkInvalid(_INVALID)
    await scope_to_firm(session, firm_id)
    invoice = await session.scalar(INVOICES.select(firm_id).where(Invoice.id == invoice_id))
    if invoice is None or invoice.status == InvoiceStatus.draft:
        raise PayLinkInvalid(_INVALID)
    if invoice.kind != InvoiceKind.invoice or token is None:
        raise PayLinkInvalid(_INVALID)
    return OpenedInvoice(
        invoice=invoice, principal=Principal.system(firm_id, request_id), token=token
    )


def not_payable(invoice: Invoice) -> str | None:
    """Why the client cannot pay this invoice online now, in the client's words; None when
    they can (the Stripe connection is checked only when they try)."""
    if invoice.status == InvoiceStatus.paid:
        return "This invoice is paid."
    if invoice.status == InvoiceStatus.void:
        return "This invoice was cancelled (void): nothing is owed."
    if invoice.status not in RECEIVABLE:
        return "This invoice cannot be paid online; contact the firm."
    if invoice.balance <= 0:
        return "Nothing is owed on this invoice."
    return None


@dataclass(frozen=True)
class ClientView:
    invoice: Invoice
    # The invoice template's context (services/billing/rendering.build_context).
    context: dict[str, Any]
    html: str
    refusal: str | None
    # A short-lived link to the invoice's newest PDF; None until the first is rendered.
    pdf_url: str | None


async def client_view(
    session: AsyncSession, opened: OpenedInvoice, *, storage: Storage, app_settings: Settings
) -> ClientView:
    invoice = opened.invoice
    client = (
        await session.scalars(CLIENTS.select(invoice.firm_id).where(Client.id == invoice.client_id))
    ).one()
    firm = (await session.scalars(select(Firm).where(Firm.id == invoice.firm_id))).one()
    settings = await get_settings(session, invoice.firm_id)
    context = rendering.build_context(
        invoice, await lines_of(session, invoice), client, firm, settings
    )
    rendered = await rendering.render_invoice(session, opened.principal, invoice.id)
    return ClientView(
        invoice=invoice,
        context=context,
        html=rendered.html,
        refusal=not_payable(invoice),
        pdf_url=await public_pdf_url(session, storage, app_settings, invoice),
    )


async def pay(
    session: AsyncSession,
    opened: OpenedInvoice,
    *,
    links: PayLinks,
    cipher: Cipher,
    providers: PaymentProviderFactory,
) -> CheckoutLink:
    """A Stripe Checkout page for what the invoice owes now; it returns to the pay page."""
    refusal = not_payable(opened.invoice)
    if refusal is not None:
        raise Conflict(refusal, errors=[{"pointer": "/status", "detail": refusal}])
    if await firm_secret_key(session, opened.principal.firm_id, cipher) is None:
        raise Conflict("This firm does not take online payments yet. Contact the firm to pay.")
    back = f"{links.page(opened.invoice.id)}?t={opened.token}&checkout="
    return await checkout.create_checkout(
        session,
        opened.principal,
        opened.invoice.id,
        cipher=cipher,
        providers=providers,
        urls=checkout.CheckoutUrls(success_url=f"{back}paid", cancel_url=f"{back}cancelled"),
    )


async def issue_link(
    session: AsyncSession,
    principal: Principal,
    invoice_id: uuid.UUID,
    *,
    links: PayLinks,
    now: datetime,
) -> PayLink:
    """A new pay link for the firm's own invoice, to give the client (a lost or expired
    email's); a draft or credit note has none (409)."""
    invoice = await INVOICES.get_or_404(session, principal, invoice_id)
    if invoice.kind != InvoiceKind.invoice or invoice.status == InvoiceStatus.draft:
        raise Conflict(
            "Only a finalized invoice has a pay link",
            errors=[{"pointer": "/status", "detail": f"a {invoice.status} {invoice.kind}"}],
        )
    return links.issue(principal.firm_id, invoice.id, now=now)
