"""Stripe: the firm's account settings (secret key, webhook signing secrets), Checkout
links for invoices, and the inbound webhook endpoint Stripe calls.

Secrets are write-only: answers show a hint (the last characters) and nothing else. See
services/billing/stripe_webhooks.py for how a delivery is verified and stored."""

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel

from api.deps import (
    CipherDep,
    IngestSessionDep,
    PaymentProvidersDep,
    Requires,
    SessionDep,
    SettingsDep,
    WebhookBody,
)
from api.openapi import errors
from core.crypto import EncryptionUnavailable
from core.errors import Conflict, NotFound
from core.permissions import Permission
from core.principal import Principal
from models import StripeWebhookSecret
from providers.payments import PaymentProviderUnavailable
from services.billing import checkout, stripe_account, stripe_webhooks
from services.billing.stripe_account import SecretKeyFields, WebhookSecretsCreate
from services.billing.stripe_webhooks import StripeSignatureRefused

router = APIRouter()

Writer = Annotated[Principal, Requires(Permission.billing_write)]
Manager = Annotated[Principal, Requires(Permission.billing_manage)]


class SecretKeyRead(BaseModel):
    configured: bool
    hint: str | None
    livemode: bool | None


class WebhookSecretRead(BaseModel):
    id: uuid.UUID
    hint: str
    expires_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, secret: StripeWebhookSecret) -> "WebhookSecretRead":
        return cls(
            id=secret.id,
            hint=secret.hint,
            expires_at=secret.expires_at,
            created_at=secret.created_at,
        )


class WebhookSecretList(BaseModel):
    items: list[WebhookSecretRead]


@router.get("/billing/stripe/secret-key", responses=errors(EncryptionUnavailable))
async def get_secret_key(
    principal: Manager, session: SessionDep, cipher: CipherDep
) -> SecretKeyRead:
    """Whether the firm has a Stripe key, and its hint."""
    found = await stripe_account.secret_key_status(session, principal, cipher)
    return SecretKeyRead(configured=found.configured, hint=found.hint, livemode=found.livemode)


@router.put("/billing/stripe/secret-key", responses=errors(EncryptionUnavailable))
async def set_secret_key(
    body: SecretKeyFields, principal: Manager, session: SessionDep, cipher: CipherDep
) -> SecretKeyRead:
    """Set or replace the firm's Stripe secret key; it is stored encrypted, never shown."""
    saved = await stripe_account.set_secret_key(session, principal, cipher, fields=body)
    return SecretKeyRead(configured=saved.configured, hint=saved.hint, livemode=saved.livemode)


@router.delete(
    "/billing/stripe/secret-key",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=errors(NotFound, EncryptionUnavailable),
)
async def delete_secret_key(principal: Manager, session: SessionDep, cipher: CipherDep) -> Response:
    await stripe_account.delete_secret_key(session, principal, cipher)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/billing/stripe/webhook-secrets",
    status_code=status.HTTP_201_CREATED,
    responses=errors(Conflict, EncryptionUnavailable),
)
async def add_webhook_secrets(
    body: WebhookSecretsCreate, principal: Manager, session: SessionDep, cipher: CipherDep
) -> WebhookSecretList:
    """Add the endpoint's signing secret(s). While Stripe rolls a secret, add the new one
    and give the old one an ``expires_at``: deliveries signed with either are accepted."""
    added = await stripe_account.add_webhook_secrets(session, principal, cipher, fields=body)
    return WebhookSecretList(items=[WebhookSecretRead.of(secret) for secret in added])


@router.get("/billing/stripe/webhook-secrets")
async def list_webhook_secrets(principal: Manager, session: SessionDep) -> WebhookSecretList:
    """Every signing secret of the firm (hints only), oldest first; at most 10 exist."""
    found = await stripe_account.list_webhook_secrets(session, principal)
    return WebhookSecretList(items=[WebhookSecretRead.of(secret) for secret in found])


@router.delete(
    "/billing/stripe/webhook-secrets/{secret_id}", status_code=status.HTTP_204_NO_CONTENT
)
async def delete_webhook_secret(
    secret_id: uuid.UUID, principal: Manager, session: SessionDep
) -> Response:
    await stripe_account.delete_webhook_secret(session, principal, secret_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


class CheckoutRead(BaseModel):
    url: str
    session_id: str


@router.post(
    "/invoices/{invoice_id}/checkout",
    responses=errors(Conflict, EncryptionUnavailable, PaymentProviderUnavailable),
)
async def create_checkout(
    invoice_id: uuid.UUID,
    principal: Writer,
    session: SessionDep,
    settings: SettingsDep,
    cipher: CipherDep,
    providers: PaymentProvidersDep,
) -> CheckoutRead:
    """A Stripe Checkout page for what the invoice owes now. Asking again for the same
    balance returns the same page; a 409 when nothing is owed (draft, void, paid)."""
    public_url = settings.public_url.rstrip("/")
    link = await checkout.create_checkout(
        session,
        principal,
        invoice_id,
        cipher=cipher,
        providers=providers,
        urls=checkout.CheckoutUrls(
            success_url=f"{public_url}/invoices/{invoice_id}?checkout=paid",
            cancel_url=f"{public_url}/invoices/{invoice_id}?checkout=cancelled",
        ),
    )
    return CheckoutRead(url=link.url, session_id=link.session_id)


class WebhookReceipt(BaseModel):
    received: bool = True
    event_id: str
    # False: a type firmflow does not use (not stored).
    handled: bool
    # False: already received before; nothing else happened.
    new: bool


_DELIVERY_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object"}}},
        "description": "A Stripe event, exactly as Stripe sends it.",
    },
    "parameters": [
        {"name": "Stripe-Signature", "in": "header", "required": True, "schema": {"type": "string"}}
    ],
}


@router.post(
    "/webhooks/stripe/{firm_id}",
    openapi_extra=_DELIVERY_BODY,
    responses=errors(StripeSignatureRefused),
)
async def receive_stripe_webhook(
    firm_id: str,
    request: Request,
    session: IngestSessionDep,
    cipher: CipherDep,
    body: WebhookBody,
) -> WebhookReceipt:
    """Stripe's deliveries for one firm. A 400 for a bad signature (generic), malformed
    JSON or an event firmflow cannot use (Stripe redelivers non-2xx answers for days); 200
    once the event is stored — it is applied right after the answer, through the outbox."""
    receipt = await stripe_webhooks.receive(
        session,
        cipher,
        firm_id,
        body=body,
        signature=request.headers.get("stripe-signature"),
        now=datetime.now(UTC),
    )
    return WebhookReceipt(event_id=receipt.event_id, handled=receipt.handled, new=receipt.new)
