"""The loopback Stripe's own Checkout page (tests/stripe_api_server.py, ``checkout_pages``),
which the browser suite pays through: a session made by the real adapter points at it,
paying delivers ``checkout.session.completed`` to the registered webhook endpoint signed
as Stripe signs (Stripe's library and firmflow's verifier both accept it), and the browser
is sent to the session's success URL."""

import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import stripe

from providers.payments import CheckoutRequest, StripeProviders
from services.billing.stripe_webhooks import (
    CheckoutSessionObject,
    parse_event,
    parse_signature,
    verify,
)
from tests.stripe_api_server import stripe_api_server

SECRET_KEY = "sk_test_" + "fakeCheckout" * 2
FIRM, INVOICE = uuid.uuid4(), uuid.uuid4()


@dataclass
class Receiver:
    """Raw webhook deliveries, exactly as they arrived (the signature covers the bytes)."""

    url: str = ""
    received: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            found.received.append((body, dict(self.headers.items())))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    found.url = f"http://127.0.0.1:{server.server_address[1]}/v1/webhooks/stripe/{FIRM}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield found
    server.shutdown()
    server.server_close()
    thread.join()


def checkout_request() -> CheckoutRequest:
    return CheckoutRequest(
        firm_id=FIRM,
        invoice_id=INVOICE,
        amount=3_000,
        currency="USD",
        description="Invoice INV-1",
        success_url="http://app.test/pay/x?t=tok&checkout=paid",
        cancel_url="http://app.test/pay/x?t=tok&checkout=cancelled",
        idempotency_key=f"checkout:{INVOICE}:3000",
        customer_email=None,
    )


async def test_paying_on_the_checkout_page_delivers_a_signed_completed_event(
    receiver: Receiver,
) -> None:
    with stripe_api_server(SECRET_KEY, checkout_pages=True) as server:
        http = httpx.AsyncClient()
        auth = {"Authorization": f"Bearer {SECRET_KEY}"}
        registered = await http.post(
            f"{server.base_url}/v1/webhook_endpoints",
            headers=auth,
            data={"url": receiver.url, "enabled_events[0]": "checkout.session.completed"},
        )
        assert registered.status_code == 200, registered.text
        secret = registered.json()["secret"]
        assert secret.startswith("whsec_")
        providers = StripeProviders(api_base=server.base_url)
        link = await providers(SECRET_KEY).create_checkout(checkout_request())
        await providers.aclose()
        assert link.url == f"{server.base_url}/c/pay/{link.session_id}"

        page = await http.get(link.url)
        assert page.status_code == 200 and "Pay 30.00 USD" in page.text
        paid = await http.post(link.url, follow_redirects=False)

        assert paid.status_code == 303
        assert paid.headers["location"] == checkout_request().success_url
        [(body, headers)] = receiver.received
        signature = headers["Stripe-Signature"]
        assert stripe.WebhookSignature.verify_header(body.decode(), signature, secret, 300)
        verify([secret], parse_signature(signature), body)
        envelope = parse_event(body)
        assert envelope.type == "checkout.session.completed"
        session = CheckoutSessionObject.model_validate(envelope.data.object)
        assert (session.amount_total, session.payment_status) == (3_000, "paid")
        assert session.metadata.invoice_id == INVOICE and session.payment_intent
        assert "This payment is complete" in (await http.get(link.url)).text
        assert [d.status for d in server.deliveries] == [200]
        await http.aclose()


def test_endpoints_need_the_key_and_sessions_keep_stripes_address_by_default() -> None:
    with stripe_api_server(SECRET_KEY) as server:
        refused = httpx.post(
            f"{server.base_url}/v1/webhook_endpoints",
            headers={"Authorization": "Bearer sk_test_wrong"},
            data={"url": "http://127.0.0.1:1/hook"},
        )
        assert refused.status_code == 401
        assert server.endpoints == []
        made = httpx.post(
            f"{server.base_url}/v1/checkout/sessions",
            headers={"Authorization": f"Bearer {SECRET_KEY}"},
            data={
                "mode": "payment",
                "line_items[0][price_data][unit_amount]": "100",
                "line_items[0][price_data][currency]": "usd",
            },
        )
        assert json.loads(made.text)["url"].startswith("https://checkout.stripe.com/c/pay/")
        assert httpx.get(f"{server.base_url}/c/pay/cs_test_unknown").status_code == 404
