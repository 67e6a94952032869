"""Pay links (services/billing/pay_links.py) and the client-facing invoice they open
(/v1/public/invoices/...): the token's signature, expiry and key rotation; the invoice as
its client reads it without an account; Checkout from it (with the fake provider); every
refusal the same 404; paid and void invoices shown but not payable; and the staff route
that issues a new link."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from httpx import ASGITransport, AsyncClient, Response
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.deps import get_payment_providers
from core.config import Settings
from core.crypto import Cipher
from core.db import scope_to_firm
from core.principal import Principal
from core.roles import Role
from models import InvoiceStatus
from services.billing import stripe_account
from services.billing.pay_links import PAY_LINK_TTL, PayLinks
from services.login_devices import DeviceCookies
from tests.billing_factories import make_invoice
from tests.factories import Actor, add_user, make_firm
from tests.fake_payments import FakePaymentProvider
from tests.problems import assert_problem

PUBLIC_URL = "https://pay.firmflow.test"
KEY = b"k" * 32
NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
SECRET_KEY = "sk_test_" + "51Hx" * 6


def token_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["t"][0]


# --- The token ------------------------------------------------------------------------


def test_a_link_opens_its_own_invoice_until_it_expires() -> None:
    links = PayLinks(keys=(KEY,), public_url=PUBLIC_URL)
    firm, invoice = uuid.uuid4(), uuid.uuid4()
    link = links.issue(firm, invoice, now=NOW)

    assert link.url.startswith(f"{PUBLIC_URL}/pay/{invoice}?t=")
    assert link.expires_at == NOW + PAY_LINK_TTL == NOW + timedelta(days=60)
    token = token_of(link.url)
    # Nothing but the firm, the expiry and the MAC: not the invoice, not a key.
    assert str(invoice) not in token and str(invoice.hex) not in token
    assert links.firm_of(token, invoice, now=NOW) == firm
    assert links.firm_of(token, invoice, now=NOW + PAY_LINK_TTL - timedelta(seconds=1)) == firm
    assert links.firm_of(token, invoice, now=NOW + PAY_LINK_TTL) is None
    assert links.firm_of(token, uuid.uuid4(), now=NOW) is None


def test_forged_tampered_and_malformed_tokens_open_nothing() -> None:
    links = PayLinks(keys=(KEY,), public_url=PUBLIC_URL)
    firm, invoice = uuid.uuid4(), uuid.uuid4()
    token = token_of(links.issue(firm, invoice, now=NOW).url)
    firm_part, expiry, signature = token.split(".")
    other_firm = token_of(links.issue(uuid.uuid4(), invoice, now=NOW).url).split(".")[0]
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    forged = PayLinks(keys=(b"x" * 32,), public_url=PUBLIC_URL)

    for bad in (
        None,
        "",
        "not-a-token",
        f"{firm_part}.{expiry}.{flipped}",
        f"{firm_part}.{int(expiry) + 86_400}.{signature}",
        f"{other_firm}.{expiry}.{signature}",
        f"{firm_part}.{expiry}.{signature}x",
        f"{firm_part}.{expiry}",
        token_of(forged.issue(firm, invoice, now=NOW).url),
        token + "\n",
    ):
        assert links.firm_of(bad, invoice, now=NOW) is None, bad


def test_links_survive_a_key_rotation_and_a_keyless_server_issues_none() -> None:
    firm, invoice = uuid.uuid4(), uuid.uuid4()
    old = PayLinks(keys=(KEY,), public_url=PUBLIC_URL)
    rotated = PayLinks(keys=(b"n" * 32, KEY), public_url=PUBLIC_URL)
    assert rotated.firm_of(token_of(old.issue(firm, invoice, now=NOW).url), invoice, now=NOW)
    assert (
        old.firm_of(token_of(rotated.issue(firm, invoice, now=NOW).url), invoice, now=NOW) is None
    )

    keyless = PayLinks(keys=(), public_url=PUBLIC_URL)
    bare = keyless.issue(firm, invoice, now=NOW)
    assert (bare.url, bare.expires_at) == (f"{PUBLIC_URL}/pay/{invoice}", None)
    assert (
        keyless.firm_of(token_of(old.issue(firm, invoice, now=NOW).url), invoice, now=NOW) is None
    )


def test_the_key_is_the_servers_own_for_pay_links_only(settings: Settings) -> None:
    links = PayLinks.from_settings(settings)
    assert len(links.keys) == 1
    # Derived under its own label: a device cookie's key never verifies a pay token.
    assert links.keys != DeviceCookies.from_settings(settings).keys
    unkeyed = settings.model_copy(update={"encryption_keys": None, "embedded": False})
    assert PayLinks.from_settings(unkeyed).keys == ()


# --- The public invoice over HTTP -------------------------------------------------------


@pytest.fixture
def fake_provider() -> FakePaymentProvider:
    return FakePaymentProvider()


@pytest.fixture
def links(settings: Settings) -> PayLinks:
    return PayLinks.from_settings(settings)


@pytest.fixture
async def http(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    fake_provider: FakePaymentProvider,
) -> AsyncIterator[AsyncClient]:
    """The API (rolled-back transaction) with the fake provider instead of Stripe."""
    from api.app import create_app

    app = create_app(settings, sessionmaker=sessionmaker)
    app.dependency_overrides[get_payment_providers] = lambda: fake_provider.for_key
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def connect_stripe(db: AsyncSession, settings: Settings, actor: Actor) -> None:
    await scope_to_firm(db, actor.firm.id)
    await stripe_account.set_secret_key(
        db,
        Principal.system(actor.firm.id),
        Cipher.from_settings(settings),
        fields=stripe_account.SecretKeyFields(secret_key=SECRET_KEY),
    )
    await db.commit()


def token_for(links: PayLinks, firm_id: uuid.UUID, invoice_id: uuid.UUID, **when: Any) -> str:
    return token_of(links.issue(firm_id, invoice_id, now=when.get("now", datetime.now(UTC))).url)


async def opened(http: AsyncClient, invoice_id: uuid.UUID, token: str | None) -> Response:
    headers = {} if token is None else {"X-Pay-Token": token}
    return await http.get(f"/v1/public/invoices/{invoice_id}", headers=headers)


async def test_the_client_reads_the_invoice_without_an_account(
    http: AsyncClient, db: AsyncSession, owner: Actor, links: PayLinks
) -> None:
    invoice = await make_invoice(db, owner, lines=((2, 5_000), (1, 2_500)))
    token = token_for(links, owner.firm.id, invoice.id)

    response = await opened(http, invoice.id, token)

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["id"], body["number"], body["status"], body["currency"]) == (
        str(invoice.id),
        invoice.number,
        "open",
        "USD",
    )
    assert body["amount_due"] == 12_500 and body["totals"]["total"] == 12_500
    assert body["payable"] is True and body["not_payable_reason"] is None
    assert [(line["quantity"], line["unit_price"], line["amount"]) for line in body["lines"]] == [
        ("2", 5_000, 10_000),
        ("1", 2_500, 2_500),
    ]
    assert body["seller"]["legal_name"] == owner.firm.name
    assert body["client"]["name"]
    assert invoice.number in body["html"] and "<html" in body["html"].lower()


async def test_every_refused_link_is_the_same_404(
    http: AsyncClient, db: AsyncSession, owner: Actor, links: PayLinks
) -> None:
    invoice = await make_invoice(db, owner)
    sibling = await make_invoice(db, owner)
    draft = await make_invoice(db, owner, status=InvoiceStatus.draft)
    other = await make_firm(db, "Other Books")
    foreign = await make_invoice(db, other)
    good = token_for(links, owner.firm.id, invoice.id)
    firm_part, expiry, signature = good.split(".")
    other_firm_part = token_for(links, other.firm.id, invoice.id).split(".")[0]
    expired = token_for(links, owner.firm.id, invoice.id, now=datetime.now(UTC) - PAY_LINK_TTL)
    forged = token_for(PayLinks(keys=(b"f" * 32,), public_url=""), owner.firm.id, invoice.id)

    attempts = [
        (invoice.id, None),
        (invoice.id, "garbage"),
        (invoice.id, forged),
        (invoice.id, expired),
        (invoice.id, f"{firm_part}.{int(expiry) + 60}.{signature}"),
        (invoice.id, f"{other_firm_part}.{expiry}.{signature}"),
        (invoice.id, token_for(links, owner.firm.id, sibling.id)),
        (sibling.id, good),
        (foreign.id, good),
        (foreign.id, token_for(links, owner.firm.id, foreign.id)),
        (draft.id, token_for(links, owner.firm.id, draft.id)),
        (uuid.uuid4(), good),
    ]
    bodies = []
    for invoice_id, token in attempts:
        body = assert_problem(await opened(http, invoice_id, token), 404)
        checkout = await http.post(
            f"/v1/public/invoices/{invoice_id}/checkout",
            headers={} if token is None else {"X-Pay-Token": token},
        )
        assert assert_problem(checkout, 404)["detail"] == body["detail"]
        bodies.append((body["title"], body["detail"], body["type"]))
    assert len(set(bodies)) == 1
    assert "new link" in bodies[0][1]


async def test_pay_creates_a_checkout_that_returns_to_the_pay_page(
    http: AsyncClient,
    db: AsyncSession,
    owner: Actor,
    links: PayLinks,
    settings: Settings,
    fake_provider: FakePaymentProvider,
) -> None:
    await connect_stripe(db, settings, owner)
    invoice = await make_invoice(db, owner, lines=((3, 1_000),))
    token = token_for(links, owner.firm.id, invoice.id)

    response = await http.post(
        f"/v1/public/invoices/{invoice.id}/checkout", headers={"X-Pay-Token": token}
    )

    assert response.status_code == 200, response.text
    assert response.json()["url"].startswith("https://checkout.stripe.com/c/pay/cs_test_")
    [request] = fake_provider.checkouts
    assert (request.amount, request.currency, request.invoice_id) == (3_000, "USD", invoice.id)
    page = f"{settings.public_url.rstrip('/')}/pay/{invoice.id}?t={token}"
    assert request.success_url == f"{page}&checkout=paid"
    assert request.cancel_url == f"{page}&checkout=cancelled"
    assert fake_provider.secret_keys == [SECRET_KEY]


@pytest.mark.parametrize(
    ("status", "reason"),
    [(InvoiceStatus.paid, "is paid"), (InvoiceStatus.void, "void")],
)
async def test_a_paid_or_void_invoice_is_shown_but_not_payable(
    http: AsyncClient,
    db: AsyncSession,
    owner: Actor,
    links: PayLinks,
    settings: Settings,
    fake_provider: FakePaymentProvider,
    status: InvoiceStatus,
    reason: str,
) -> None:
    await connect_stripe(db, settings, owner)
    invoice = await make_invoice(db, owner, status=status)
    token = token_for(links, owner.firm.id, invoice.id)

    shown = await opened(http, invoice.id, token)
    assert shown.status_code == 200, shown.text
    assert (shown.json()["status"], shown.json()["payable"]) == (status.value, False)
    assert reason in shown.json()["not_payable_reason"]

    refused = await http.post(
        f"/v1/public/invoices/{invoice.id}/checkout", headers={"X-Pay-Token": token}
    )
    assert reason in assert_problem(refused, 409)["detail"]
    assert fake_provider.checkouts == []


async def test_no_checkout_before_the_firm_connects_stripe(
    http: AsyncClient,
    db: AsyncSession,
    owner: Actor,
    links: PayLinks,
    fake_provider: FakePaymentProvider,
) -> None:
    invoice = await make_invoice(db, owner)
    response = await http.post(
        f"/v1/public/invoices/{invoice.id}/checkout",
        headers={"X-Pay-Token": token_for(links, owner.firm.id, invoice.id)},
    )
    assert "Contact the firm" in assert_problem(response, 409)["detail"]
    assert fake_provider.checkouts == []


# --- Staff issue a new link --------------------------------------------------------------


async def test_staff_issue_a_new_link_that_opens_the_invoice(
    http: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    invoice = await make_invoice(db, owner)
    staff = await add_user(db, owner, Role.staff)

    issued = await http.post(f"/v1/invoices/{invoice.id}/pay-link", headers=staff.headers)

    assert issued.status_code == 200, issued.text
    url = issued.json()["url"]
    assert f"/pay/{invoice.id}?t=" in url
    expires = datetime.fromisoformat(issued.json()["expires_at"])
    assert timedelta(days=59) < expires - datetime.now(UTC) <= PAY_LINK_TTL
    assert (await opened(http, invoice.id, token_of(url))).status_code == 200


async def test_no_link_for_a_draft_another_firm_or_a_role_without_billing_write(
    http: AsyncClient, db: AsyncSession, owner: Actor
) -> None:
    draft = await make_invoice(db, owner, status=InvoiceStatus.draft)
    invoice = await make_invoice(db, owner)
    assert_problem(await http.post(f"/v1/invoices/{draft.id}/pay-link", headers=owner.headers), 409)
    other = await make_firm(db, "Other Books")
    path = f"/v1/invoices/{invoice.id}/pay-link"
    assert_problem(await http.post(path, headers=other.headers), 404)
    builder = await add_user(db, owner, Role.builder)
    assert_problem(await http.post(path, headers=builder.headers), 403)
    assert_problem(await http.post(path), 401)
