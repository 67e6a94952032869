"""A Stripe event that waits for its payment and that payment, applied at the same time in
two transactions, cannot miss each other: the payment's transaction looks for waiting
events only after the dispute's transaction has either marked its event waiting (and
committed) or seen the payment. Both take the payment intent's transaction lock first."""

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.config import Settings
from core.crypto import Cipher
from core.db import tenant_session
from core.principal import Principal
from models import Firm, PaymentDispute, StripeEventStatus
from services.billing import stripe_account, stripe_events, stripe_webhooks
from services.billing.stripe_account import WebhookSecretFields, WebhookSecretsCreate
from tests.billing_factories import make_invoice
from tests.factories import Actor, make_firm
from tests.stripe_api_server import dispute, event, invoice_metadata, payment_intent

Maker = async_sessionmaker[AsyncSession]
SECRET = "whsec_" + "r4ce" * 8
TOTAL = 4_200


@pytest.fixture
async def firm(committing_sessionmaker: Maker, settings: Settings) -> AsyncIterator[Actor]:
    async with committing_sessionmaker() as session:
        actor = await make_firm(session, "Stripe race")
    async with tenant_session(actor.firm.id, committing_sessionmaker) as session:
        await stripe_account.add_webhook_secrets(
            session,
            Principal.system(actor.firm.id),
            Cipher.from_settings(settings),
            fields=WebhookSecretsCreate(secrets=[WebhookSecretFields(secret=SECRET)]),
        )
    yield actor
    async with tenant_session(actor.firm.id, committing_sessionmaker) as session:
        await session.execute(delete(Firm).where(Firm.id == actor.firm.id))


async def store(maker: Maker, settings: Settings, actor: Actor, payload: dict[str, object]) -> None:
    body = json.dumps(payload).encode()
    now = int(time.time())
    async with maker() as session, session.begin():
        receipt = await stripe_webhooks.receive(
            session,
            Cipher.from_settings(settings),
            str(actor.firm.id),
            body=body,
            signature=stripe_webhooks.signature_header([SECRET], now, body),
            now=datetime.now(UTC),
        )
    assert receipt.new


async def apply(maker: Maker, firm_id: uuid.UUID, event_id: str) -> StripeEventStatus:
    async with tenant_session(firm_id, maker) as session:
        status, _ = await stripe_events.apply_event(session, firm_id, event_id)
    return status


async def until_someone_waits_for_a_lock(maker: Maker) -> None:
    async with asyncio.timeout(30):
        while True:
            async with maker() as session:
                waiting = await session.scalar(
                    select(func.count())
                    .select_from(text("pg_locks"))
                    .where(
                        text(
                            "locktype = 'advisory' AND NOT granted AND database = "
                            "(SELECT oid FROM pg_database WHERE datname = current_database())"
                        )
                    )
                )
            if waiting:
                return


async def test_a_dispute_applied_while_its_payment_commits_is_not_left_waiting(
    committing_sessionmaker: Maker, settings: Settings, firm: Actor
) -> None:
    async with committing_sessionmaker() as session:
        invoice = await make_invoice(session, firm, lines=((1, TOTAL),))
    intent_id, charge_id = f"pi_{uuid.uuid4().hex[:16]}", f"ch_{uuid.uuid4().hex[:16]}"
    now = int(time.time())
    paid = event(
        "payment_intent.succeeded",
        payment_intent(
            invoice_metadata(firm.firm.id, invoice.id),
            amount=TOTAL,
            currency=invoice.currency,
            intent_id=intent_id,
        ),
        created=now,
    )
    disputed = event(
        "charge.dispute.created",
        dispute(amount=TOTAL, currency=invoice.currency, intent_id=intent_id, charge_id=charge_id),
        created=now,
    )
    for payload in (paid, disputed):
        await store(committing_sessionmaker, settings, firm, payload)

    async with tenant_session(firm.firm.id, committing_sessionmaker) as paying:
        status, _ = await stripe_events.apply_event(paying, firm.firm.id, paid["id"])
        assert status == StripeEventStatus.processed
        # The payment is recorded but not committed: the dispute must wait for this
        # transaction rather than decide, from what it can see, that there is no payment.
        disputing = asyncio.create_task(
            apply(committing_sessionmaker, firm.firm.id, disputed["id"])
        )
        await until_someone_waits_for_a_lock(committing_sessionmaker)

    assert await disputing == StripeEventStatus.processed
    async with tenant_session(firm.firm.id, committing_sessionmaker) as session:
        opened = await session.scalar(
            select(func.count())
            .select_from(PaymentDispute)
            .where(PaymentDispute.client_id == invoice.client_id)
        )
    assert opened == 1
