"""A real HTTP server on loopback that answers the few Stripe API calls firmflow makes
(Checkout Sessions, off-session PaymentIntents) the way Stripe does: bearer secret key,
form-encoded bodies, ``Idempotency-Key`` replays (the same key and parameters return the
first answer; the same key with other parameters is an ``idempotency_error``), card
declines as 402 ``card_error``. The Stripe adapter is pointed at it through the SDK's
``base_addresses``; it records every request so tests can check what the SDK sent.

With ``checkout_pages`` (the browser suite), a Checkout Session's ``url`` is a page this
server serves itself, ``<base_url>/c/pay/<session id>``: a minimal Stripe Checkout with a
Pay button. Paying completes the session, sends ``checkout.session.completed`` to every
webhook endpoint registered with the same secret key (``POST /v1/webhook_endpoints``, as
with Stripe's API: its answer holds the endpoint's ``whsec_`` signing secret), signed as
Stripe signs, then sends the browser to the session's ``success_url``; Cancel goes to its
``cancel_url``. Without the flag the url is Stripe's own address, as before.

Below it, the events Stripe's webhooks deliver, shaped as Stripe shapes them (the webhook
and processing tests sign and send these)."""

import html
import json
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import httpx

from services.billing.stripe_webhooks import signature_header

# Stripe's test payment method that always declines.
DECLINING_METHOD = "pm_card_chargeDeclined"


@dataclass(frozen=True)
class StripeRequest:
    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, str]

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("idempotency-key")


@dataclass(frozen=True)
class WebhookEndpoint:
    id: str
    url: str
    secret: str
    enabled_events: tuple[str, ...]

    def wants(self, kind: str) -> bool:
        return "*" in self.enabled_events or kind in self.enabled_events


@dataclass(frozen=True)
class Delivery:
    endpoint: str
    event_type: str
    status: int


@dataclass
class StripeApiServer:
    api_key: str
    port: int = 0
    # Checkout Sessions' urls point at this server's own Checkout page (see the docstring).
    checkout_pages: bool = False
    endpoints: list[WebhookEndpoint] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    _sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Statuses answered (and not remembered) before any real answer, e.g. a transient 500.
    transient_failures: list[int] = field(default_factory=list)
    requests: list[StripeRequest] = field(default_factory=list)
    _replays: dict[str, tuple[dict[str, str], int, dict[str, Any]]] = field(default_factory=dict)
    _created: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def created(self) -> int:
        """How many objects were really created (replays excluded)."""
        with self._lock:
            return self._created

    def answer(self, request: StripeRequest) -> tuple[int, dict[str, Any], bool]:
        """(status, JSON body, replayed)."""
        with self._lock:
            self.requests.append(request)
            if request.headers.get("authorization") != f"Bearer {self.api_key}":
                return 401, _error("invalid_request_error", "Invalid API Key provided"), False
            if self.transient_failures:
                return self.transient_failures.pop(0), _error("api_error", "Try again"), False
            key = request.idempotency_key
            if key is not None and key in self._replays:
                form, status, body = self._replays[key]
                if form != request.form:
                    return (
                        400,
                        _error(
                            "idempotency_error",
                            "Keys for idempotent requests can only be used with the same "
                            "parameters they were first used with.",
                        ),
                        False,
                    )
                return status, body, True
            self._created += 1
            status, body = self._create(request, self._created)
            if key is not None:
                self._replays[key] = (request.form, status, body)
            return status, body, False

    def _create(self, request: StripeRequest, serial: int) -> tuple[int, dict[str, Any]]:
        form = request.form
        if request.method == "POST" and request.path == "/v1/checkout/sessions":
            session_id = f"cs_test_{serial:06d}"
            host = self.base_url if self.checkout_pages else "https://checkout.stripe.com"
            session = {
                "id": session_id,
                "object": "checkout.session",
                "mode": form.get("mode"),
                "status": "open",
                "payment_status": "unpaid",
                "payment_intent": None,
                "amount_total": int(form["line_items[0][price_data][unit_amount]"]),
                "currency": form["line_items[0][price_data][currency]"],
                "client_reference_id": form.get("client_reference_id"),
                "metadata": _nested(form, "metadata"),
                "success_url": form.get("success_url"),
                "cancel_url": form.get("cancel_url"),
                "url": f"{host}/c/pay/{session_id}",
            }
            self._sessions[session_id] = session
            return 200, session
        if request.method == "POST" and request.path == "/v1/webhook_endpoints":
            endpoint = WebhookEndpoint(
                id=f"we_test_{serial:06d}",
                url=form["url"],
                secret=f"whsec_{secrets.token_urlsafe(24)}",
                enabled_events=tuple(
                    value for key, value in form.items() if key.startswith("enabled_events[")
                )
                or ("*",),
            )
            self.endpoints.append(endpoint)
            return 200, {
                "id": endpoint.id,
                "object": "webhook_endpoint",
                "url": endpoint.url,
                "secret": endpoint.secret,
                "enabled_events": list(endpoint.enabled_events),
                "status": "enabled",
            }
        if request.method == "POST" and request.path == "/v1/payment_intents":
            intent = {
                "id": f"pi_test_{serial:06d}",
                "object": "payment_intent",
                "amount": int(form["amount"]),
                "currency": form["currency"],
                "customer": form.get("customer"),
                "payment_method": form.get("payment_method"),
                "metadata": _nested(form, "metadata"),
            }
            if form.get("payment_method") == DECLINING_METHOD:
                declined = {**intent, "status": "requires_payment_method", "amount_received": 0}
                body = _error("card_error", "Your card was declined.")
                body["error"].update(
                    code="card_declined", decline_code="generic_decline", payment_intent=declined
                )
                return 402, body
            return 200, {**intent, "status": "succeeded", "amount_received": intent["amount"]}
        return 404, _error("invalid_request_error", f"Unrecognized request URL ({request.path})")

    def checkout_page(self, session_id: str) -> str | None:
        """The Checkout page of an open session, or None."""
        with self._lock:
            session = self._sessions.get(session_id)
        if session is None:
            return None
        amount = f"{session['amount_total'] / 100:.2f} {str(session['currency']).upper()}"
        state = (
            "<p>This payment is complete.</p>"
            if session["status"] == "complete"
            else f'<form method="post"><button type="submit">Pay {html.escape(amount)}</button>'
            f'</form><p><a href="{html.escape(str(session["cancel_url"]))}">Cancel</a></p>'
        )
        return (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            "<title>Stripe Checkout (test)</title></head><body><main>"
            f"<h1>Pay {html.escape(amount)}</h1>{state}</main></body></html>"
        )

    def complete(self, session_id: str) -> str | None:
        """Pay the session: ``checkout.session.completed`` to every endpoint of the
        account, signed with its secret; the ``success_url`` to send the browser to."""
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                return None
            if session["status"] != "complete":
                session.update(
                    status="complete",
                    payment_status="paid",
                    payment_intent=f"pi_test_{session_id.removeprefix('cs_test_')}",
                )
            endpoints = list(self.endpoints)
            completed = event("checkout.session.completed", dict(session), created=int(time.time()))
        body = json.dumps(completed).encode()
        for endpoint in endpoints:
            if endpoint.wants(completed["type"]):
                status = _deliver(endpoint, body)
                with self._lock:
                    self.deliveries.append(Delivery(endpoint.id, completed["type"], status))
        return str(session["success_url"])


def _deliver(endpoint: WebhookEndpoint, body: bytes) -> int:
    answer = httpx.post(
        endpoint.url,
        content=body,
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": signature_header([endpoint.secret], int(time.time()), body),
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        },
        timeout=10,
    )
    return answer.status_code


def _error(kind: str, message: str) -> dict[str, Any]:
    return {"error": {"type": kind, "message": message}}


def _nested(form: dict[str, str], name: str) -> dict[str, str]:
    prefix = f"{name}["
    return {
        key[len(prefix) : -1]: value
        for key, value in form.items()
        if key.startswith(prefix) and key.endswith("]") and "][" not in key
    }


def _handler(server: StripeApiServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _checkout(self, session_id: str) -> None:
            """The browser's Checkout page: GET shows it, POST pays."""
            if self.command == "POST":
                target = server.complete(session_id)
                if target is None:
                    self.send_error(404)
                    return
                self.send_response(303)
                self.send_header("Location", target)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            page = server.checkout_page(session_id)
            if page is None:
                self.send_error(404)
                return
            data = page.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode() if length else ""
            path = self.path.split("?", 1)[0]
            if path.startswith("/c/pay/"):
                self._checkout(path.removeprefix("/c/pay/"))
                return
            request = StripeRequest(
                method=self.command,
                path=path,
                headers={name.lower(): value for name, value in self.headers.items()},
                form=dict(parse_qsl(raw, keep_blank_values=True)),
            )
            status, body, replayed = server.answer(request)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Request-Id", f"req_{len(server.requests):06d}")
            if replayed:
                self.send_header("Idempotent-Replayed", "true")
            if status >= 500:
                self.send_header("Stripe-Should-Retry", "true")
            self.end_headers()
            self.wfile.write(data)

        do_GET = _serve
        do_POST = _serve

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@contextmanager
def stripe_api_server(api_key: str, *, checkout_pages: bool = False) -> Iterator[StripeApiServer]:
    state = StripeApiServer(api_key=api_key, checkout_pages=checkout_pages)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


# --- Events as Stripe's webhooks deliver them --------------------------------------------


def event(
    kind: str, obj: dict[str, Any], *, created: int, event_id: str | None = None
) -> dict[str, Any]:
    return {
        "id": event_id or f"evt_{uuid.uuid4().hex[:24]}",
        "object": "event",
        "api_version": "2026-10-28.endive",
        "type": kind,
        "created": created,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "data": {"object": obj},
    }


def invoice_metadata(firm_id: uuid.UUID, invoice_id: uuid.UUID) -> dict[str, str]:
    return {"firm_id": str(firm_id), "invoice_id": str(invoice_id)}


def checkout_session(
    metadata: dict[str, str], *, amount: int, currency: str, payment_intent: str
) -> dict[str, Any]:
    return {
        "id": f"cs_test_{uuid.uuid4().hex[:16]}",
        "object": "checkout.session",
        "mode": "payment",
        "status": "complete",
        "payment_status": "paid",
        "payment_intent": payment_intent,
        "amount_total": amount,
        "amount_subtotal": amount,
        "currency": currency.lower(),
        "metadata": metadata,
    }


def payment_intent(
    metadata: dict[str, str],
    *,
    amount: Any,
    currency: str,
    intent_id: str,
    succeeded: bool = True,
    customer: str | None = None,
    payment_method: str | None = None,
    save_card: bool = False,
) -> dict[str, Any]:
    return {
        "id": intent_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_received": amount if succeeded else 0,
        "currency": currency.lower(),
        "status": "succeeded" if succeeded else "requires_payment_method",
        "customer": customer,
        "payment_method": payment_method,
        "setup_future_usage": "off_session" if save_card else None,
        "metadata": metadata,
        "last_payment_error": None
        if succeeded
        else {"type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds"},
    }


def charge(
    metadata: dict[str, str],
    *,
    amount: int,
    refunded: int,
    currency: str,
    intent_id: str,
    charge_id: str,
    created: int = 0,
) -> dict[str, Any]:
    return {
        "id": charge_id,
        "object": "charge",
        "created": created or int(time.time()),
        "amount": amount,
        "amount_captured": amount,
        "amount_refunded": refunded,
        "refunded": refunded == amount,
        "currency": currency.lower(),
        "payment_intent": intent_id,
        "metadata": metadata,
        "status": "succeeded",
    }


def dispute(
    *,
    amount: int,
    currency: str,
    intent_id: str,
    charge_id: str,
    dispute_id: str | None = None,
    status: str = "needs_response",
    created: int = 0,
) -> dict[str, Any]:
    return {
        "id": dispute_id or f"dp_{uuid.uuid4().hex[:16]}",
        "object": "dispute",
        "created": created or int(time.time()),
        "amount": amount,
        "currency": currency.lower(),
        "charge": charge_id,
        "payment_intent": intent_id,
        "reason": "fraudulent",
        "status": status,
        "metadata": {},
    }
