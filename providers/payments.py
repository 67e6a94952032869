"""Card payments behind a protocol: the Stripe adapter (official ``stripe`` SDK, one
``StripeClient`` per firm's secret key) in production, an in-memory fake in tests.

Every call that creates something at Stripe carries an ``Idempotency-Key`` chosen by the
caller from business facts (the invoice and its balance, the retry number), so a retried
request — by the SDK after a network error, or by a Temporal activity after a crash —
returns what the first one created instead of creating a second Checkout Session or
charging the card twice."""

import enum
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import stripe
from stripe.params.checkout import SessionCreateParams

from core.errors import AppError

# The SDK retries network errors and 5xx/409 answers itself, re-sending the same key.
SDK_NETWORK_RETRIES = 2
REQUEST_TIMEOUT_SECONDS = 20.0
log = logging.getLogger("firmflow.payments")


class PaymentProviderUnavailable(AppError):
    """Stripe gave no answer a person can act on: unreachable, down after the SDK's own
    retries, rate limited, or refusing the firm's key. Its own words stay in the log."""

    status = 502
    title = "Payment provider unavailable"
    slug = "payment-provider-unavailable"


# Errors of Stripe's side or of the firm's connection to it, not of our request (a
# refused parameter or a reused key stays a bug that surfaces as one).
_UNAVAILABLE = (
    stripe.APIConnectionError,
    stripe.APIError,
    stripe.RateLimitError,
    stripe.AuthenticationError,
    stripe.PermissionError,
)


@dataclass(frozen=True)
class CheckoutRequest:
    """A hosted payment page for ``amount`` (the invoice's balance, minor units)."""

    firm_id: uuid.UUID
    invoice_id: uuid.UUID
    amount: int
    currency: str
    description: str
    success_url: str
    cancel_url: str
    idempotency_key: str
    customer_email: str | None = None


@dataclass(frozen=True)
class CheckoutLink:
    session_id: str
    url: str


@dataclass(frozen=True)
class ChargeRequest:
    """An off-session charge of a saved card (a payment retry)."""

    firm_id: uuid.UUID
    invoice_id: uuid.UUID
    amount: int
    currency: str
    customer_ref: str
    method_ref: str
    idempotency_key: str
    attempt: int


class ChargeStatus(enum.StrEnum):
    succeeded = "succeeded"
    # Declined, or the bank wants the cardholder present (3-D Secure): not paid.
    failed = "failed"
    # Accepted but not settled yet: payment_intent.succeeded will report the outcome.
    processing = "processing"


@dataclass(frozen=True)
class ChargeResult:
    status: ChargeStatus
    payment_intent_id: str | None
    amount_received: int = 0
    decline_code: str | None = None


class PaymentProvider(Protocol):
    async def create_checkout(self, request: CheckoutRequest) -> CheckoutLink: ...

    async def charge_saved_method(self, request: ChargeRequest) -> ChargeResult: ...


# A firm's provider from its decrypted secret key.
PaymentProviderFactory = Callable[[str], PaymentProvider]


def _metadata(firm_id: uuid.UUID, invoice_id: uuid.UUID) -> dict[str, str]:
    # Copied onto the payment intent as well: its events (and its charge's) then name the
    # invoice however they arrive, before or after the Checkout Session's own event.
    return {"firm_id": str(firm_id), "invoice_id": str(invoice_id)}


class StripePaymentProvider:
    def __init__(self, client: stripe.StripeClient) -> None:
        self._client = client

    async def create_checkout(self, request: CheckoutRequest) -> CheckoutLink:
        metadata = _metadata(request.firm_id, request.invoice_id)
        params: SessionCreateParams = {
            "mode": "payment",
            "line_items": [
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": request.currency.lower(),
                        "unit_amount": request.amount,
                        "product_data": {"name": request.description},
                    },
                }
            ],
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
            "client_reference_id": str(request.invoice_id),
            "metadata": metadata,
            "payment_intent_data": {"metadata": metadata},
        }
        if request.customer_email is not None:
            params["customer_email"] = request.customer_email
        try:
            session = await self._client.v1.checkout.sessions.create_async(
                params, {"idempotency_key": request.idempotency_key}
            )
        except _UNAVAILABLE as exc:
            log.warning(
                "stripe refused or failed a checkout",
                extra={"stripe_error": type(exc).__name__, "stripe_request_id": exc.request_id},
            )
            if isinstance(exc, stripe.AuthenticationError | stripe.PermissionError):
                detail = (
                    "Stripe refused this firm's secret key; connect Stripe again with a "
                    "current key, then retry."
                )
            else:
                detail = "Stripe could not create the payment page just now; retry in a minute."
            raise PaymentProviderUnavailable(detail) from exc
        if session.url is None:
            raise RuntimeError("Stripe returned a Checkout Session without a URL")
        return CheckoutLink(session_id=session.id, url=session.url)

    async def charge_saved_method(self, request: ChargeRequest) -> ChargeResult:
        metadata = _metadata(request.firm_id, request.invoice_id)
        metadata["attempt"] = str(request.attempt)
        try:
            intent = await self._client.v1.payment_intents.create_async(
                {
                    "amount": request.amount,
                    "currency": request.currency.lower(),
                    "customer": request.customer_ref,
                    "payment_method": request.method_ref,
                    "off_session": True,
                    "confirm": True,
                    "metadata": metadata,
                },
                {"idempotency_key": request.idempotency_key},
            )
        except stripe.CardError as exc:
            declined = exc.error.payment_intent if exc.error is not None else None
            return ChargeResult(
                status=ChargeStatus.failed,
                payment_intent_id=declined.id if declined is not None else None,
                decline_code=exc.code,
            )
        if intent.status == "succeeded":
            return ChargeResult(
                status=ChargeStatus.succeeded,
                payment_intent_id=intent.id,
                amount_received=intent.amount_received,
            )
        if intent.status == "processing":
            return ChargeResult(status=ChargeStatus.processing, payment_intent_id=intent.id)
        return ChargeResult(
            status=ChargeStatus.failed, payment_intent_id=intent.id, decline_code=intent.status
        )


@dataclass
class StripeProviders:
    """Builds each firm's ``StripePaymentProvider``; every client shares one HTTP
    connection pool. ``api_base`` points the SDK elsewhere (a loopback server in tests)."""

    api_base: str = stripe.DEFAULT_API_BASE
    timeout: float = REQUEST_TIMEOUT_SECONDS
    _http: stripe.HTTPXClient = field(init=False)

    def __post_init__(self) -> None:
        self._http = stripe.HTTPXClient(timeout=self.timeout)

    def __call__(self, secret_key: str) -> PaymentProvider:
        return StripePaymentProvider(
            stripe.StripeClient(
                secret_key,
                base_addresses={"api": self.api_base},
                http_client=self._http,
                max_network_retries=SDK_NETWORK_RETRIES,
            )
        )

    async def aclose(self) -> None:
        # The SDK leaves this one method unannotated.
        await self._http.close_async()  # type: ignore[no-untyped-call]
