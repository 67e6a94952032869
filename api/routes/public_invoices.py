"""The client-facing invoice of a pay link (``/pay/<invoice id>?t=<token>`` in the web app):
read it, download its PDF and pay it through Stripe Checkout, with no account; and the
staff routes that issue a new pay link and a link to the PDF. The token travels in the
``X-Pay-Token`` header, never in an API path or query, so no access log or proxy records
it. See services/billing/pay_links.py."""

import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel, Field

from api.deps import (
    CipherDep,
    PaymentProvidersDep,
    Requires,
    SessionDep,
    SettingsDep,
    StorageDep,
)
from api.openapi import errors
from core.crypto import EncryptionUnavailable
from core.errors import Conflict, NotFound
from core.permissions import Permission
from core.principal import Principal
from models import InvoiceStatus
from providers.payments import PaymentProviderUnavailable
from services.billing import invoice_documents, public_invoices
from services.billing.invoice_documents import NoInvoicePdf
from services.billing.pay_links import PayLinks
from services.billing.public_invoices import PayLinkInvalid

router = APIRouter()

Reader = Annotated[Principal, Requires(Permission.billing_read)]
Writer = Annotated[Principal, Requires(Permission.billing_write)]


def get_pay_links(settings: SettingsDep) -> PayLinks:
    return PayLinks.from_settings(settings)


PayLinksDep = Annotated[PayLinks, Depends(get_pay_links)]
PayToken = Annotated[
    str | None,
    Header(
        alias="X-Pay-Token",
        description="The ``t`` of the pay link (/pay/<invoice id>?t=<token>).",
    ),
]


class PublicSeller(BaseModel):
    legal_name: str
    address_lines: list[str]
    country: str | None
    vat_id: str | None
    tax_number: str | None
    iban: str | None
    bic: str | None


class PublicBillTo(BaseModel):
    name: str
    email: str | None = None
    vat_id: str | None = None
    address_lines: list[str] = Field(default_factory=list)


class PublicLine(BaseModel):
    description: str
    quantity: str = Field(description="A decimal number, as text.")
    unit_price: int = Field(description="Minor units of the invoice's currency.")
    amount: int = Field(description="Minor units of the invoice's currency.")


class PublicTotals(BaseModel):
    """Every amount in minor units of the invoice's currency."""

    subtotal: int
    discount: int
    tax: int
    late_fee: int
    total: int
    amount_paid: int
    amount_credited: int
    balance: int


class PublicInvoiceRead(BaseModel):
    id: uuid.UUID
    number: str | None
    status: InvoiceStatus
    currency: str
    issue_date: date | None
    due_date: date | None
    seller: PublicSeller
    client: PublicBillTo
    lines: list[PublicLine]
    totals: PublicTotals
    amount_due: int = Field(description="What the client owes now, in minor units.")
    payable: bool = Field(description="Whether the Pay button can start a checkout now.")
    not_payable_reason: str | None = Field(description="Why not, in the client's words.")
    html: str = Field(description="The invoice rendered with the firm's template.")
    pdf_url: str | None = Field(
        description="A short-lived link that downloads the invoice's PDF (its newest "
        "rendering); null until the first rendering is stored, shortly after finalizing."
    )


def _read(view: public_invoices.ClientView) -> PublicInvoiceRead:
    invoice, context = view.invoice, view.context
    client: dict[str, Any] = context["client"]
    return PublicInvoiceRead(
        id=invoice.id,
        number=invoice.number,
        status=invoice.status,
        currency=invoice.currency,
        issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        seller=PublicSeller.model_validate(context["seller"]),
        client=PublicBillTo(
            name=client.get("name") or "",
            email=client.get("email"),
            vat_id=client.get("vat_id"),
            address_lines=client.get("address_lines") or [],
        ),
        lines=[
            PublicLine(
                description=line["description"],
                quantity=line["quantity"],
                unit_price=line["unit_price_minor"],
                amount=line["amount_minor"],
            )
            for line in context["lines"]
        ],
        totals=PublicTotals.model_validate(context["totals_minor"]),
        amount_due=invoice.balance,
        payable=view.refusal is None,
        not_payable_reason=view.refusal,
        html=view.html,
        pdf_url=view.pdf_url,
    )


def _request_id(request: Request) -> str | None:
    request_id: str | None = getattr(request.state, "request_id", None)
    return request_id


@router.get("/public/invoices/{invoice_id}", responses=errors(PayLinkInvalid))
async def read_public_invoice(
    invoice_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    links: PayLinksDep,
    storage: StorageDep,
    settings: SettingsDep,
    token: PayToken = None,
) -> PublicInvoiceRead:
    """The invoice a pay link opens, for its client: seller, client, lines, totals, what
    is owed, whether it can be paid online, the rendered invoice and a link to its PDF.
    No sign-in: the
    token authorises this one invoice. Any token that does not (forged, expired,
    malformed, another invoice's) is the same 404."""
    opened = await public_invoices.open_invoice(
        session, links, invoice_id, token, now=datetime.now(UTC), request_id=_request_id(request)
    )
    view = await public_invoices.client_view(
        session, opened, storage=storage, app_settings=settings
    )
    return _read(view)


class PublicCheckout(BaseModel):
    url: str = Field(description="Stripe Checkout's page: send the browser there.")


@router.post(
    "/public/invoices/{invoice_id}/checkout",
    responses=errors(PayLinkInvalid, Conflict, EncryptionUnavailable, PaymentProviderUnavailable),
)
async def pay_public_invoice(
    invoice_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    links: PayLinksDep,
    cipher: CipherDep,
    providers: PaymentProvidersDep,
    token: PayToken = None,
) -> PublicCheckout:
    """A Stripe Checkout page for what the invoice owes now; Stripe sends the client back
    to the pay page with ``checkout=paid`` or ``checkout=cancelled``. A 409 when nothing
    can be paid (paid, void, written off, Stripe not connected)."""
    opened = await public_invoices.open_invoice(
        session, links, invoice_id, token, now=datetime.now(UTC), request_id=_request_id(request)
    )
    link = await public_invoices.pay(
        session, opened, links=links, cipher=cipher, providers=providers
    )
    return PublicCheckout(url=link.url)


class PayLinkRead(BaseModel):
    url: str = Field(description="/pay/<invoice id>?t=<token>, to give the client.")
    expires_at: datetime | None = Field(
        description="When the link stops working; null when the server has no encryption "
        "key, so the link opens nothing."
    )


@router.post("/invoices/{invoice_id}/pay-link", responses=errors(NotFound, Conflict))
async def issue_pay_link(
    invoice_id: uuid.UUID, principal: Writer, session: SessionDep, links: PayLinksDep
) -> PayLinkRead:
    """A new pay link for a finalized invoice (the emailed one lasts 60 days); earlier
    links keep working until they expire."""
    link = await public_invoices.issue_link(
        session, principal, invoice_id, links=links, now=datetime.now(UTC)
    )
    return PayLinkRead(url=link.url, expires_at=link.expires_at)


class InvoicePdfLink(BaseModel):
    url: str = Field(description="Downloads the invoice's newest PDF while it lasts.")
    expires_at: datetime


@router.post("/invoices/{invoice_id}/pdf-link", responses=errors(NotFound, NoInvoicePdf))
async def invoice_pdf_link(
    invoice_id: uuid.UUID,
    principal: Reader,
    session: SessionDep,
    storage: StorageDep,
    settings: SettingsDep,
) -> InvoicePdfLink:
    """A short-lived link to the invoice's newest PDF (recorded as a download of its
    document); 409 while it has none (a draft, or just finalized and not yet rendered)."""
    link = await invoice_documents.pdf_link(session, principal, storage, settings, invoice_id)
    return InvoicePdfLink(url=link.url, expires_at=link.expires_at)
