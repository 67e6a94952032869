"""Stripe's inbound webhooks over HTTP, signed exactly as Stripe signs them: good, forged,
stale, future, unknown secret, rotated, malformed JSON, wrong types, unknown and other
firms' invoices, duplicates; each with what was stored and the invoice left as it was
(processing is test_stripe_processing.py's). Also the firm's Stripe settings API and the
Checkout link route (with the fake provider)."""

import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import stripe
from httpx import ASGITransport, AsyncClient
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.deps import get_payment_providers
from core.config import Settings
from core.crypto import Cipher
from core.db import scope_to_firm
from core.principal import Principal
from core.roles import Role
from models import (
    AuditEvent,
    BillingSettings,
    Invoice,
    InvoiceStatus,
    OutboxMessage,
    PaymentMethod,
    StripeEvent,
    StripeWebhookSecret,
)
from services.billing import payments, stripe_account
from services.billing.stripe_account import WebhookSecretFields, WebhookSecretsCreate
from services.billing.stripe_webhooks import (
    StripeSignatureRefused,
    check_fresh,
    parse_signature,
    sign,
    signature_header,
)
from tests.billing_factories import make_invoice
from tests.factories import Actor, add_user, make_firm
from tests.fake_payments import FakePaymentProvider
from tests.problems import assert_problem, pointers
from tests.stripe_api_server import (
    checkout_session,
    dispute,
    event,
    invoice_metadata,
    payment_intent,
)

SECRET = "whsec_" + "A1b2C3d4" * 4
OTHER_SECRET = "whsec_" + "Z9y8X7w6" * 4
SECRET_KEY = "sk_test_" + "51Hx" * 6


@pytest.fixture
def cipher(settings: Settings) -> Cipher:
    return Cipher.from_settings(settings)


async def add_secrets(
    db: AsyncSession, cipher: Cipher, actor: Actor, *secrets: WebhookSecretFields
) -> None:
    await scope_to_firm(db, actor.firm.id)
    await stripe_account.add_webhook_secrets(
        db,
        Principal.system(actor.firm.id),
        cipher,
        fields=WebhookSecretsCreate(secrets=list(secrets)),
    )
    await db.commit()


@pytest.fixture
async def signed_firm(db: AsyncSession, cipher: Cipher, owner: Actor) -> Actor:
    await add_secrets(db, cipher, owner, WebhookSecretFields(secret=SECRET))
    return owner


def succeeded(invoice: Invoice, *, amount: Any = None, **extra: Any) -> dict[str, Any]:
    return event(
        "payment_intent.succeeded",
        payment_intent(
            invoice_metadata(invoice.firm_id, invoice.id),
            amount=invoice.balance if amount is None else amount,
            currency=invoice.currency,
            intent_id=f"pi_{uuid.uuid4().hex[:20]}",
        )
        | extra,
        created=int(time.time()),
    )


async def deliver(
    http: AsyncClient,
    firm_id: uuid.UUID | str,
    payload: dict[str, Any] | bytes,
    *,
    secrets: tuple[str, ...] = (SECRET,),
    at: int | None = None,
    header: str | None = None,
) -> Any:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    signature = header or signature_header(secrets, at or int(time.time()), body)
    return await http.post(
        f"/v1/webhooks/stripe/{firm_id}",
        content=body,
        headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
    )


async def stored(db: AsyncSession, actor: Actor) -> list[StripeEvent]:
    await scope_to_firm(db, actor.firm.id)
    rows = await db.scalars(
        select(StripeEvent)
        .where(StripeEvent.firm_id == actor.firm.id)
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def queued(db: AsyncSession, actor: Actor) -> list[str]:
    await scope_to_firm(db, actor.firm.id)
    rows = await db.scalars(
        select(OutboxMessage.dedupe_key).where(
            OutboxMessage.firm_id == actor.firm.id,
            OutboxMessage.dedupe_key.like("start:stripe-event-%"),
        )
    )
    return list(rows)


async def unchanged(db: AsyncSession, invoice: Invoice) -> None:
    await scope_to_firm(db, invoice.firm_id)
    fresh = await db.scalar(
        select(Invoice).where(Invoice.id == invoice.id).execution_options(populate_existing=True)
    )
    assert fresh is not None
    assert fresh.status == InvoiceStatus.open
    assert (fresh.amount_paid, fresh.balance) == (0, invoice.total)


# --- Signatures ---------------------------------------------------------------------


def test_the_signature_is_the_one_stripes_own_library_verifies() -> None:
    body = b'{"id": "evt_1", "type": "payment_intent.succeeded"}'
    now = int(time.time())
    header = signature_header([SECRET], now, body)
    assert header == f"t={now},v1={sign(SECRET, now, body)}"
    assert stripe.WebhookSignature.verify_header(body.decode(), header, SECRET, tolerance=300)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.WebhookSignature.verify_header(body.decode(), header, OTHER_SECRET, tolerance=300)


async def test_a_good_event_is_stored_once_and_queued_for_processing(
    client: AsyncClient, db: AsyncSession, signed_firm: Actor
) -> None:
    invoice = await make_invoice(db, signed_firm)
    payload = succeeded(invoice)

    response = await deliver(client, signed_firm.firm.id, payload)

    assert response.status_code == 200, response.text
    assert response.json() == {
        "received": True,
        "event_id": payload["id"],
        "handled": True,
        "new": True,
    }
    [row] = await stored(db, signed_firm)
    assert (row.event_id, row.type, row.status) == (
        payload["id"],
        "payment_intent.succeeded",
        "pending",
    )
    assert row.stripe_created == payload["created"] and row.livemode is False
    assert row.data["invoice_id"] == str(invoice.id)
    assert row.data["object"]["amount_received"] == invoice.total
    # Only the fields firmflow reads are kept, not Stripe's whole object.
    assert "status" not in row.data["object"]
    assert await queued(db, signed_firm) == [
        f"start:stripe-event-{signed_firm.firm.id}-{payload['id']}"
    ]
    await unchanged(db, invoice)


async def test_a_duplicate_delivered_five_times_is_stored_once(
    client: AsyncClient, db: AsyncSession, signed_firm: Actor
) -> None:
    invoice = await make_invoice(db, signed_firm)
    payload = succeeded(invoice)

    answers = [await deliver(client, signed_firm.firm.id, payload) for _ in range(5)]

    assert [a.status_code for a in answers] == [200] * 5
    assert [a.json()["new"] for a in answers] == [True, False, False, False, False]
    assert len(await stored(db, signed_firm)) == 1
    assert len(await queued(db, signed_firm)) == 1
    await unchanged(db, invoice)


@pytest.mark.parametrize(
    ("secrets", "seconds_ago"),
    [
        pytest.param((OTHER_SECRET,), 0, id="forged"),
        pytest.param((SECRET,), 600, id="stale"),
        pytest.param((SECRET,), -600, id="future"),
        pytest.param((SECRET,), 3600, id="replayed-an-hour-later"),
    ],
)
async def test_refused_signatures_are_a_generic_400_and_store_nothing(
    client: AsyncClient,
    db: AsyncSession,
    signed_firm: Actor,
    secrets: tuple[str, ...],
    seconds_ago: int,
) -> None:
    invoice = await make_invoice(db, signed_firm)

    response = await deliver(
        client,
        signed_firm.firm.id,
        succeeded(invoice),
        secrets=secrets,
        at=int(time.time()) - seconds_ago,
    )

    body = assert_problem(response, 400)
    assert body["type"].endswith("stripe-signature")
    assert body["detail"] == "The Stripe-Signature header does not verify for this endpoint"
    assert await stored(db, signed_firm) == []
    await unchanged(db, invoice)


@pytest.mark.parametrize(
    ("offset", "fresh"), [(300, True), (-300, True), (301, False), (-301, False)]
)
def test_the_tolerance_is_300_seconds_both_ways(offset: int, fresh: bool) -> None:
    now = datetime(2026, 11, 22, 16, 0, tzinfo=UTC)
    parsed = parse_signature(f"t={int(now.timestamp()) + offset},v1=00")
    if fresh:
        check_fresh(parsed, now=now)
    else:
        with pytest.raises(StripeSignatureRefused):
            check_fresh(parsed, now=now)


@pytest.mark.parametrize("seconds_ago", [240, -240])
async def test_deliveries_within_the_tolerance_are_accepted(
    client: AsyncClient, db: AsyncSession, signed_firm: Actor, seconds_ago: int
) -> None:
    invoice = await make_invoice(db, signed_firm)
    response = await deliver(
        client, signed_firm.firm.id, succeeded(invoice), at=int(time.time()) - seconds_ago
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("", id="empty"),
        pytest.param("v1=abc", id="no-timestamp"),
        pytest.param(f"t={int(time.time())}", id="no-signature"),
        pytest.param("t=soon,v1=abc", id="timestamp-not-a-number"),
        pytest.param(f"t={int(time.time())},v0=abc", id="only-the-old-scheme"),
    ],
)
async def test_malformed_signature_headers_are_refused(
    client: AsyncClient, db: AsyncSession, signed_firm: Actor, header: str
) -> None:
    invoice = await make_invoice(db, signed_firm)
    body = json.dumps(succeeded(invoice)).encode()
    response = await client.post(
        f"/v1/webhooks/stripe/{signed_firm.firm.id}",
        content=body,
        headers={"Stripe-Signature": header} if header else {},
    )
    assert_problem(response, 400)
    assert await stored(db, signed_firm) == []


async def test_a_firm_without_secrets_or_an_unknown_firm_is_refused_alike(
    client: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    invoice = await make_invoice(db, owner)
    payload = succeeded(invoice)

    no_secret = await deliver(client, owner.firm.id, payload)
    unknown_firm = await deliver(client, uuid.uuid4(), payload)
    not_a_firm = await deliver(client, "acme", payload)

    details = {assert_problem(r, 400)["detail"] for r in (no_secret, unknown_firm, not_a_firm)}
    assert details == {"The Stripe-Signature header does not verify for this endpoint"}
    assert await stored(db, owner) == []
    await unchanged(db, invoice)


async def test_during_a_rotation_either_secret_verifies_until_the_old_one_expires(
    client: AsyncClient, db: AsyncSession, cipher: Cipher, owner: Actor
) -> None:
    await add_secrets(
        db,
        cipher,
        owner,
        WebhookSecretFields(secret=SECRET, expires_at=datetime.now(UTC) + timedelta(hours=1)),
        WebhookSecretFields(secret=OTHER_SECRET),
    )
    invoice = await make_invoice(db, owner)

    old = await deliver(client, owner.firm.id, succeeded(invoice), secrets=(SECRET,))
    new = await deliver(client, owner.firm.id, succeeded(invoice), secrets=(OTHER_SECRET,))
    # Stripe signs with both while it rolls the secret: one v1 per secret.
    both = await deliver(client, owner.firm.id, succeeded(invoice), secrets=(SECRET, OTHER_SECRET))
    assert [r.status_code for r in (old, new, both)] == [200, 200, 200]

    await scope_to_firm(db, owner.firm.id)
    await db.execute(
        update(StripeWebhookSecret)
        .where(StripeWebhookSecret.firm_id == owner.firm.id, StripeWebhookSecret.hint == "…C3d4")
        .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    )
    await db.commit()
    expired = await deliver(client, owner.firm.id, succeeded(invoice), secrets=(SECRET,))
    assert_problem(expired, 400)
    assert len(await stored(db, owner)) == 3


async def test_malformed_json_is_400_and_stores_nothing(
    client: AsyncClient, db: AsyncSession, signed_firm: Actor
) -> None:
    invoice = await make_invoice(db, signed_firm)
    response = await deliver(client, signed_firm.firm.id, b'{"id": "evt_1", "type": ')
    body = assert_problem(response, 400)
    assert body["type"].endswith("invalid-stripe-event")
    assert body["detail"] == "The body is not valid JSON"
    assert await stored(db, signed_firm) == []
    await unchanged(db, invoice)


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        pytest.param({"amount_received": "100"}, "/data/object/amount_received", id="string"),
        pytest.param({"amount_received": -5}, "/data/object/amount_received", id="negative"),
        pytest.param({"amount_received": 10.5}, "/data/object/amount_received", id="fraction"),
        pytest.param({"amount_received": True}, "/data/object/amount_received", id="boolean"),
        pytest.param({"currency": 7}, "/data/object/currency", id="currency-type"),
        pytest.param({"metadata": {}}, "/data/object/metadata/invoice_id", id="no-invoice"),
        pytest.param(
            {"metadata": {"invoice_id": "INV-1"}},
            "/data/object/metadata/invoice_id",
            id="invoice-not-an-id",
        ),
        pytest.param({"id": "pi 1; drop"}, "/data/object/id", id="odd-id"),
    ],
)
async def test_wrong_types_are_400_with_a_pointer_and_store_nothing(
    client: AsyncClient,
    db: AsyncSession,
    signed_firm: Actor,
    change: dict[str, Any],
    pointer: str,
) -> None:
    invoice = await make_invoice(db, signed_firm)
    payload = succeeded(invoice)
    payload["data"]["object"].update(change)

    response = await deliver(client, signed_firm.firm.id, payload)

    body = assert_problem(response, 400)
    assert pointer in pointers(body)
    assert await stored(db, signed_firm) == []
    await unchanged(db, invoice)


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        pytest.param({"created": "yesterday"}, "/created", id="created"),
        pytest.param({"livemode": "no"}, "/livemode", id="livemode"),
        pytest.param({"data": {}}, "/data/object", id="no-object"),
        pytest.param({"id": None}, "/id", id="no-id"),
    ],
)
async def test_a_malformed_envelope_is_400(
    client: AsyncClient,
    db: AsyncSession,
    signed_firm: Actor,
    change: dict[str, Any],
    pointer: str,
) -> None:
    invoice = await make_invoice(db, signed_firm)
    payload = succeeded(invoice) | change
    response = await deliver(client, signed_firm.firm.id, payload)
    assert pointer in pointers(assert_problem(response, 400))
    assert await stored(db, signed_firm) == []
    await unchanged(db, invoice)


async def test_an_unknown_invoice_is_400_and_stores_nothing(
    client: AsyncClient, db: AsyncSession, signed_firm: Actor
) -> None:
    invoice = await make_invoice(db, signed_firm)
    payload = succeeded(invoice)
    payload["data"]["object"]["metadata"]["invoice_id"] = str(uuid.uuid4())

    response = await deliver(client, signed_firm.firm.id, payload)

    body = assert_problem(response, 400)
    assert pointers(body) == {"/data/object/metadata/invoice_id"}
    assert await stored(db, signed_firm) == []
    await unchanged(db, invoice)


def disputed(**change: Any) -> dict[str, Any]:
    """A dispute of a payment intent firmflow has not recorded (yet)."""
    suffix = uuid.uuid4().hex[:16]
    obj = dispute(amount=5_000, currency="usd", intent_id=f"pi_{suffix}", charge_id=f"ch_{suffix}")
    return event("charge.dispute.created", obj | change, created=int(time.time()))


async def test_a_dispute_whose_payment_is_not_known_yet_is_stored_not_refused(
    client: AsyncClient, db: AsyncSession, signed_firm: Actor
) -> None:
    payload = disputed()

    response = await deliver(client, signed_firm.firm.id, payload)

    assert response.status_code == 200, response.text
    assert response.json()["new"] is True
    [row] = await stored(db, signed_firm)
    assert (row.type, row.status, row.data["invoice_id"]) == (
        "charge.dispute.created",
        "pending",
        None,
    )
    assert row.data["object"]["payment_intent"] == payload["data"]["object"]["payment_intent"]
    assert await queued(db, signed_firm) == [
        f"start:stripe-event-{signed_firm.firm.id}-{payload['id']}"
    ]


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        pytest.param({"payment_intent": None}, "/data/object/payment_intent", id="no-intent"),
        pytest.param({"amount": "5000"}, "/data/object/amount", id="amount-text"),
        pytest.param({"status": ""}, "/data/object/status", id="no-status"),
        pytest.param({"created": -1}, "/data/object/created", id="negative-created"),
    ],
)
async def test_a_malformed_dispute_is_400_and_stores_nothing(
    client: AsyncClient,
    db: AsyncSession,
    signed_firm: Actor,
    change: dict[str, Any],
    pointer: str,
) -> None:
    response = await deliver(client, signed_firm.firm.id, disputed(**change))

    assert pointer in pointers(assert_problem(response, 400))
    assert await stored(db, signed_firm) == []


async def test_another_firms_invoice_is_400_and_changes_nothing(
    client: AsyncClient, db: AsyncSession, signed_firm: Actor
) -> None:
    other = await make_firm(db, "Other Books")
    theirs = await make_invoice(db, other)
    # Signed correctly for our endpoint, but naming the other firm's invoice.
    response = await deliver(client, signed_firm.firm.id, succeeded(theirs))

    body = assert_problem(response, 400)
    assert pointers(body) == {"/data/object/metadata/invoice_id"}
    assert await stored(db, signed_firm) == []
    assert await stored(db, other) == []
    await unchanged(db, theirs)


async def test_a_currency_other_than_the_invoices_is_400(
    client: AsyncClient, db: AsyncSession, signed_firm: Actor
) -> None:
    invoice = await make_invoice(db, signed_firm, currency="EUR")
    payload = succeeded(invoice)
    payload["data"]["object"]["currency"] = "usd"

    response = await deliver(client, signed_firm.firm.id, payload)

    assert pointers(assert_problem(response, 400)) == {"/data/object/currency"}
    assert await stored(db, signed_firm) == []
    await unchanged(db, invoice)


async def test_unhandled_event_types_are_acknowledged_and_not_stored(
    client: AsyncClient, db: AsyncSession, signed_firm: Actor
) -> None:
    payload = event("customer.created", {"id": "cus_1", "object": "customer"}, created=1)
    payload["created"] = int(time.time())

    response = await deliver(client, signed_firm.firm.id, payload)

    assert response.status_code == 200, response.text
    assert response.json()["handled"] is False
    assert await stored(db, signed_firm) == []


async def test_oversized_bodies_are_413(
    client: AsyncClient, db: AsyncSession, signed_firm: Actor, settings: Settings
) -> None:
    invoice = await make_invoice(db, signed_firm)
    payload = succeeded(invoice)
    payload["padding"] = "x" * settings.webhook_max_bytes
    response = await deliver(client, signed_firm.firm.id, payload)
    assert_problem(response, 413)
    assert await stored(db, signed_firm) == []
    await unchanged(db, invoice)


async def test_a_checkout_event_for_a_euro_invoice_is_stored(
    client: AsyncClient, db: AsyncSession, signed_firm: Actor
) -> None:
    invoice = await make_invoice(db, signed_firm, currency="EUR")
    payload = event(
        "checkout.session.completed",
        checkout_session(
            invoice_metadata(invoice.firm_id, invoice.id),
            amount=invoice.total,
            currency="eur",
            payment_intent="pi_checkout_1",
        ),
        created=int(time.time()),
    )
    response = await deliver(client, signed_firm.firm.id, payload)
    assert response.status_code == 200, response.text
    [row] = await stored(db, signed_firm)
    assert row.data["object"]["payment_intent"] == "pi_checkout_1"
    await unchanged(db, invoice)


# --- The firm's Stripe settings --------------------------------------------------------


async def test_the_secret_key_is_stored_encrypted_and_shown_as_a_hint(
    client: AsyncClient, db: AsyncSession, owner: Actor, cipher: Cipher
) -> None:
    before = await client.get("/v1/billing/stripe/secret-key", headers=owner.headers)
    assert before.json() == {"configured": False, "hint": None, "livemode": None}

    saved = await client.put(
        "/v1/billing/stripe/secret-key", json={"secret_key": SECRET_KEY}, headers=owner.headers
    )

    assert saved.status_code == 200, saved.text
    assert saved.json() == {"configured": True, "hint": "…51Hx", "livemode": False}
    assert SECRET_KEY not in saved.text
    got = await client.get("/v1/billing/stripe/secret-key", headers=owner.headers)
    assert got.json() == saved.json()
    await scope_to_firm(db, owner.firm.id)
    encrypted = await db.scalar(
        select(BillingSettings.stripe_secret_key_encrypted).where(
            BillingSettings.firm_id == owner.firm.id
        )
    )
    assert encrypted is not None and SECRET_KEY not in encrypted
    assert cipher.decrypt(encrypted) == SECRET_KEY
    audits = (
        await db.scalars(
            select(AuditEvent).where(
                AuditEvent.firm_id == owner.firm.id, AuditEvent.action == "stripe.secret_key_set"
            )
        )
    ).all()
    assert [a.summary for a in audits] == [{"after": {"hint": "…51Hx", "livemode": False}}]

    deleted = await client.delete("/v1/billing/stripe/secret-key", headers=owner.headers)
    assert deleted.status_code == 204
    again = await client.delete("/v1/billing/stripe/secret-key", headers=owner.headers)
    assert_problem(again, 404)


@pytest.mark.parametrize("key", ["pk_test_abcdefghij", "sk_test_", "sk_prod_abcdefghijk", ""])
async def test_a_wrong_secret_key_is_422(client: AsyncClient, owner: Actor, key: str) -> None:
    response = await client.put(
        "/v1/billing/stripe/secret-key", json={"secret_key": key}, headers=owner.headers
    )
    assert pointers(assert_problem(response, 422)) == {"/secret_key"}


async def test_webhook_secrets_are_added_listed_and_deleted_with_hints_only(
    client: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    expires = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    added = await client.post(
        "/v1/billing/stripe/webhook-secrets",
        json={"secrets": [{"secret": SECRET, "expires_at": expires}, {"secret": OTHER_SECRET}]},
        headers=owner.headers,
    )
    assert added.status_code == 201, added.text
    assert SECRET not in added.text and OTHER_SECRET not in added.text
    items = added.json()["items"]
    assert [item["hint"] for item in items] == ["…C3d4", "…X7w6"]
    assert items[0]["expires_at"] is not None and items[1]["expires_at"] is None

    listed = await client.get("/v1/billing/stripe/webhook-secrets", headers=owner.headers)
    assert listed.json()["items"] == items

    other = await make_firm(db, "Other Books")
    foreign = await client.delete(
        f"/v1/billing/stripe/webhook-secrets/{items[0]['id']}", headers=other.headers
    )
    assert_problem(foreign, 404)
    deleted = await client.delete(
        f"/v1/billing/stripe/webhook-secrets/{items[0]['id']}", headers=owner.headers
    )
    assert deleted.status_code == 204
    listed = await client.get("/v1/billing/stripe/webhook-secrets", headers=owner.headers)
    assert [item["hint"] for item in listed.json()["items"]] == ["…X7w6"]
    await scope_to_firm(db, owner.firm.id)
    actions = (
        await db.scalars(
            select(AuditEvent.action)
            .where(
                AuditEvent.firm_id == owner.firm.id,
                AuditEvent.record_type == "stripe_webhook_secret",
            )
            .order_by(AuditEvent.created_at)
        )
    ).all()
    assert sorted(actions) == sorted(
        ["stripe.webhook_secret_added"] * 2 + ["stripe.webhook_secret_deleted"]
    )


async def test_webhook_secret_refusals(client: AsyncClient, owner: Actor) -> None:
    path = "/v1/billing/stripe/webhook-secrets"
    bad = await client.post(
        path, json={"secrets": [{"secret": "sk_test_x"}]}, headers=owner.headers
    )
    assert "/secrets/0/secret" in pointers(assert_problem(bad, 422))
    empty = await client.post(path, json={"secrets": []}, headers=owner.headers)
    assert_problem(empty, 422)
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    expired = await client.post(
        path, json={"secrets": [{"secret": SECRET, "expires_at": past}]}, headers=owner.headers
    )
    assert pointers(assert_problem(expired, 422)) == {"/secrets/0/expires_at"}
    many = [{"secret": f"whsec_{n:02d}" + "k" * 30} for n in range(10)]
    full = await client.post(path, json={"secrets": many}, headers=owner.headers)
    assert full.status_code == 201
    over = await client.post(path, json={"secrets": [{"secret": SECRET}]}, headers=owner.headers)
    assert_problem(over, 409)


async def test_staff_may_not_manage_the_stripe_account(
    client: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    staff = await add_user(db, owner, Role.staff)
    for method, path, body in [
        ("GET", "/v1/billing/stripe/secret-key", None),
        ("PUT", "/v1/billing/stripe/secret-key", {"secret_key": SECRET_KEY}),
        ("GET", "/v1/billing/stripe/webhook-secrets", None),
        ("POST", "/v1/billing/stripe/webhook-secrets", {"secrets": [{"secret": SECRET}]}),
    ]:
        response = await client.request(method, path, json=body, headers=staff.headers)
        assert_problem(response, 403)


# --- Checkout links ------------------------------------------------------------------


@pytest.fixture
def fake_provider() -> FakePaymentProvider:
    return FakePaymentProvider()


@pytest.fixture
async def checkout_api(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    fake_provider: FakePaymentProvider,
) -> AsyncIterator[AsyncClient]:
    """The API (rolled-back transaction) with the fake provider instead of Stripe."""
    from api.app import create_app

    app = create_app(settings, sessionmaker=sessionmaker)
    app.dependency_overrides[get_payment_providers] = lambda: fake_provider.for_key
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def connect_stripe(db: AsyncSession, cipher: Cipher, actor: Actor) -> None:
    await scope_to_firm(db, actor.firm.id)
    await stripe_account.set_secret_key(
        db,
        Principal.system(actor.firm.id),
        cipher,
        fields=stripe_account.SecretKeyFields(secret_key=SECRET_KEY),
    )
    await db.commit()


async def test_checkout_links_follow_the_balance(
    checkout_api: AsyncClient,
    db: AsyncSession,
    cipher: Cipher,
    owner: Actor,
    fake_provider: FakePaymentProvider,
) -> None:
    await connect_stripe(db, cipher, owner)
    staff = await add_user(db, owner, Role.staff)
    invoice = await make_invoice(db, owner, lines=((2, 5_000),))
    path = f"/v1/invoices/{invoice.id}/checkout"

    first = await checkout_api.post(path, headers=staff.headers)
    again = await checkout_api.post(path, headers=staff.headers)

    assert first.status_code == 200, first.text
    assert first.json() == again.json()
    assert first.json()["url"].startswith("https://checkout.stripe.com/")
    assert fake_provider.sessions_created == 1
    assert fake_provider.secret_keys == [SECRET_KEY, SECRET_KEY]
    request = fake_provider.checkouts[0]
    assert (request.amount, request.currency, request.invoice_id) == (10_000, "USD", invoice.id)
    assert request.idempotency_key == f"checkout:{invoice.id}:10000"
    assert request.success_url.endswith(f"/invoices/{invoice.id}?checkout=paid")

    await scope_to_firm(db, owner.firm.id)
    await payments.record_payment(
        db,
        Principal.system(owner.firm.id),
        invoice_id=invoice.id,
        amount=4_000,
        currency="USD",
        method=PaymentMethod.bank_transfer,
        received_on=datetime.now(UTC).date(),
    )
    await db.commit()
    rest = await checkout_api.post(path, headers=staff.headers)
    assert rest.json()["session_id"] != first.json()["session_id"]
    assert fake_provider.checkouts[-1].amount == 6_000
    assert fake_provider.sessions_created == 2


@pytest.mark.parametrize("status", [InvoiceStatus.draft, InvoiceStatus.void, InvoiceStatus.paid])
async def test_no_checkout_when_nothing_is_owed(
    checkout_api: AsyncClient,
    db: AsyncSession,
    cipher: Cipher,
    owner: Actor,
    fake_provider: FakePaymentProvider,
    status: InvoiceStatus,
) -> None:
    await connect_stripe(db, cipher, owner)
    invoice = await make_invoice(db, owner, status=status)
    response = await checkout_api.post(f"/v1/invoices/{invoice.id}/checkout", headers=owner.headers)
    assert_problem(response, 409)
    assert fake_provider.checkouts == []


async def test_checkout_refusals(
    checkout_api: AsyncClient,
    db: AsyncSession,
    cipher: Cipher,
    owner: Actor,
    fake_provider: FakePaymentProvider,
) -> None:
    invoice = await make_invoice(db, owner)
    path = f"/v1/invoices/{invoice.id}/checkout"
    not_connected = await checkout_api.post(path, headers=owner.headers)
    assert "secret key" in assert_problem(not_connected, 409)["detail"]

    await connect_stripe(db, cipher, owner)
    other = await make_firm(db, "Other Books")
    assert_problem(await checkout_api.post(path, headers=other.headers), 404)
    builder = await add_user(db, owner, Role.builder)
    assert_problem(await checkout_api.post(path, headers=builder.headers), 403)
    assert fake_provider.checkouts == []
    count = await db.scalar(select(func.count()).select_from(StripeEvent))
    assert count == 0
