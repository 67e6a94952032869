"""The Stripe adapter (official SDK) against a loopback server that answers like Stripe's
API: what goes over the wire (secret key, form body, Idempotency-Key, API version), replays
of the same key, the SDK's own retry of a transient failure, card declines."""

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
import stripe

from providers.payments import (
    SDK_NETWORK_RETRIES,
    ChargeRequest,
    ChargeStatus,
    CheckoutRequest,
    PaymentProviderUnavailable,
    StripeProviders,
)
from tests.stripe_api_server import DECLINING_METHOD, StripeApiServer, stripe_api_server

SECRET_KEY = "sk_test_" + "4eC39HqLyjWDarjtT1zdp7dc"
FIRM = uuid.uuid4()


@pytest.fixture
def server() -> Iterator[StripeApiServer]:
    with stripe_api_server(SECRET_KEY) as api:
        yield api


@pytest.fixture
async def providers(server: StripeApiServer) -> AsyncIterator[StripeProviders]:
    built = StripeProviders(api_base=server.base_url)
    yield built
    await built.aclose()


def checkout(invoice_id: uuid.UUID, amount: int) -> CheckoutRequest:
    return CheckoutRequest(
        firm_id=FIRM,
        invoice_id=invoice_id,
        amount=amount,
        currency="EUR",
        description="Invoice INV-2026-0042",
        success_url="https://firm.example.com/paid",
        cancel_url="https://firm.example.com/cancelled",
        idempotency_key=f"checkout:{invoice_id}:{amount}",
        customer_email="ap@client.example.com",
    )


def charge(method: str, key: str) -> ChargeRequest:
    return ChargeRequest(
        firm_id=FIRM,
        invoice_id=uuid.uuid4(),
        amount=12_345,
        currency="GBP",
        customer_ref="cus_Q1",
        method_ref=method,
        idempotency_key=key,
        attempt=3,
    )


async def test_a_checkout_session_is_created_once_per_invoice_and_balance(
    server: StripeApiServer, providers: StripeProviders
) -> None:
    provider = providers(SECRET_KEY)
    invoice_id = uuid.uuid4()

    first = await provider.create_checkout(checkout(invoice_id, 10_000))
    again = await provider.create_checkout(checkout(invoice_id, 10_000))
    smaller = await provider.create_checkout(checkout(invoice_id, 4_000))

    assert first == again
    assert first.url == f"https://checkout.stripe.com/c/pay/{first.session_id}"
    assert smaller.session_id != first.session_id
    assert server.created() == 2
    sent = server.requests[0]
    assert (sent.method, sent.path) == ("POST", "/v1/checkout/sessions")
    assert sent.headers["authorization"] == f"Bearer {SECRET_KEY}"
    assert sent.headers["content-type"] == "application/x-www-form-urlencoded"
    assert sent.headers["stripe-version"]
    assert [r.idempotency_key for r in server.requests] == [
        f"checkout:{invoice_id}:10000",
        f"checkout:{invoice_id}:10000",
        f"checkout:{invoice_id}:4000",
    ]
    assert sent.form == {
        "mode": "payment",
        "line_items[0][quantity]": "1",
        "line_items[0][price_data][currency]": "eur",
        "line_items[0][price_data][unit_amount]": "10000",
        "line_items[0][price_data][product_data][name]": "Invoice INV-2026-0042",
        "success_url": "https://firm.example.com/paid",
        "cancel_url": "https://firm.example.com/cancelled",
        "client_reference_id": str(invoice_id),
        "customer_email": "ap@client.example.com",
        "metadata[firm_id]": str(FIRM),
        "metadata[invoice_id]": str(invoice_id),
        # The payment intent carries the invoice too: its own events name it.
        "payment_intent_data[metadata][firm_id]": str(FIRM),
        "payment_intent_data[metadata][invoice_id]": str(invoice_id),
    }


async def test_the_sdk_retries_a_transient_failure_with_the_same_key(
    server: StripeApiServer, providers: StripeProviders
) -> None:
    server.transient_failures.append(500)
    invoice_id = uuid.uuid4()

    link = await providers(SECRET_KEY).create_checkout(checkout(invoice_id, 2_500))

    assert link.session_id.startswith("cs_test_")
    assert server.created() == 1
    assert [r.idempotency_key for r in server.requests] == [f"checkout:{invoice_id}:2500"] * 2


async def test_the_same_key_with_other_parameters_is_refused_by_stripe(
    server: StripeApiServer, providers: StripeProviders
) -> None:
    provider = providers(SECRET_KEY)
    request = checkout(uuid.uuid4(), 1_000)
    await provider.create_checkout(request)
    changed = CheckoutRequest(**{**request.__dict__, "description": "Something else"})
    with pytest.raises(stripe.IdempotencyError):
        await provider.create_checkout(changed)
    assert server.created() == 1


async def test_an_off_session_charge_succeeds_once_per_key(
    server: StripeApiServer, providers: StripeProviders
) -> None:
    provider = providers(SECRET_KEY)
    request = charge("pm_card_visa", "invoice-1:12345:3")

    first = await provider.charge_saved_method(request)
    again = await provider.charge_saved_method(request)

    assert first == again
    assert first.status == ChargeStatus.succeeded
    assert first.amount_received == 12_345
    assert server.created() == 1
    form = server.requests[0].form
    assert form["off_session"] == "true" and form["confirm"] == "true"
    assert (form["customer"], form["payment_method"], form["currency"]) == (
        "cus_Q1",
        "pm_card_visa",
        "gbp",
    )
    assert form["metadata[invoice_id]"] == str(request.invoice_id)
    assert form["metadata[attempt]"] == "3"
    assert server.requests[0].idempotency_key == "invoice-1:12345:3"


async def test_a_declined_card_is_a_failed_result_not_an_exception(
    server: StripeApiServer, providers: StripeProviders
) -> None:
    result = await providers(SECRET_KEY).charge_saved_method(charge(DECLINING_METHOD, "k-1"))
    assert result.status == ChargeStatus.failed
    assert result.decline_code == "card_declined"
    assert result.payment_intent_id is not None and result.payment_intent_id.startswith("pi_")


async def test_a_wrong_secret_key_is_a_502_saying_to_connect_again(
    server: StripeApiServer, providers: StripeProviders
) -> None:
    with pytest.raises(PaymentProviderUnavailable) as refused:
        await providers("sk_test_" + "x" * 24).create_checkout(checkout(uuid.uuid4(), 100))
    assert refused.value.status == 502
    assert "connect Stripe again" in refused.value.detail
    assert server.created() == 0


async def test_stripe_down_after_the_sdks_retries_is_a_502_not_a_crash(
    server: StripeApiServer, providers: StripeProviders
) -> None:
    server.transient_failures.extend([500] * (SDK_NETWORK_RETRIES + 1))
    with pytest.raises(PaymentProviderUnavailable) as refused:
        await providers(SECRET_KEY).create_checkout(checkout(uuid.uuid4(), 100))
    assert "retry in a minute" in refused.value.detail
    assert server.created() == 0
