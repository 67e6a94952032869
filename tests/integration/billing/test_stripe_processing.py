"""Stripe events applied end to end: signed deliveries to the API (committed), the outbox
starting StripeEventWorkflow on the time-skipping server, its activity on a test worker
recording payments and refunds through services.billing.payments. Whatever the order or the
repetition, each scenario ends in the same invoice state, which every test asserts."""

import asyncio
import itertools
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from httpx import AsyncClient
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import WorkflowFailureError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.billing_stripe import StripeActivities
from core.config import Settings
from core.crypto import Cipher
from core.db import tenant_session
from core.errors import Unprocessable
from core.principal import Principal
from core.temporal import TASK_QUEUE, fixed_client
from models import (
    AuditEvent,
    ClientCredit,
    Firm,
    Invoice,
    InvoiceStatus,
    OutboxMessage,
    Payment,
    PaymentDispute,
    SavedPaymentMethod,
    StripeEvent,
    Task,
)
from services.billing import credits, payments, stripe_account
from services.billing.invoices import delete_invoice
from services.billing.stripe_account import (
    SecretKeyFields,
    WebhookSecretFields,
    WebhookSecretsCreate,
)
from services.billing.stripe_webhooks import signature_header
from tests.billing_factories import make_client, make_invoice
from tests.factories import Actor, make_firm
from tests.fake_payments import FakePaymentProvider
from tests.fixtures.temporal import result_skipping_time
from tests.stripe_api_server import (
    charge,
    checkout_session,
    dispute,
    event,
    invoice_metadata,
    payment_intent,
)
from workflows.billing.payment_retry import contracts as payment_retry
from workflows.billing.payment_retry.contracts import PaymentRetryResult
from workflows.billing.payment_retry.workflow import PaymentRetryWorkflow
from workflows.billing.stripe_event import contracts as stripe_event
from workflows.billing.stripe_event.contracts import StripeEventResult
from workflows.billing.stripe_event.workflow import StripeEventWorkflow

Maker = async_sessionmaker[AsyncSession]
SECRET = "whsec_" + "pr0cess1ng" * 3
SECRET_KEY = "sk_test_" + "pr0cess1ng" * 3
TOTAL = 10_000


@pytest.fixture
async def books(committing_sessionmaker: Maker, settings: Settings) -> AsyncIterator[Actor]:
    """A committed firm with a webhook secret and a Stripe key; deleted afterwards."""
    async with committing_sessionmaker() as session:
        actor = await make_firm(session, "Stripe processing")
    cipher = Cipher.from_settings(settings)
    principal = Principal.system(actor.firm.id)
    async with tenant_session(actor.firm.id, committing_sessionmaker) as session:
        await stripe_account.add_webhook_secrets(
            session,
            principal,
            cipher,
            fields=WebhookSecretsCreate(secrets=[WebhookSecretFields(secret=SECRET)]),
        )
        await stripe_account.set_secret_key(
            session, principal, cipher, fields=SecretKeyFields(secret_key=SECRET_KEY)
        )
    yield actor
    async with tenant_session(actor.firm.id, committing_sessionmaker) as session:
        await session.execute(delete(Firm).where(Firm.id == actor.firm.id))


@pytest.fixture
def provider() -> FakePaymentProvider:
    return FakePaymentProvider()


@pytest.fixture
async def worker(
    temporal_env: WorkflowEnvironment,
    committing_sessionmaker: Maker,
    settings: Settings,
    provider: FakePaymentProvider,
) -> AsyncIterator[Worker]:
    """The outbox starts these workflows on the application's task queue."""
    activities = StripeActivities(
        committing_sessionmaker,
        fixed_client(temporal_env.client),
        cipher=Cipher.from_settings(settings),
        providers=provider.for_key,
    )
    async with Worker(
        temporal_env.client,
        task_queue=TASK_QUEUE,
        workflows=[StripeEventWorkflow, PaymentRetryWorkflow],
        activities=[activities.apply_event, activities.retry_payment],
    ) as running:
        yield running


async def deliver(
    api: AsyncClient,
    env: WorkflowEnvironment,
    firm_id: uuid.UUID,
    payload: dict[str, Any],
) -> StripeEventResult | None:
    """POST the signed event; when Stripe would see a 2xx for a new event, wait for its
    workflow's result."""
    body = json.dumps(payload).encode()
    response = await api.post(
        f"/v1/webhooks/stripe/{firm_id}",
        content=body,
        headers={"Stripe-Signature": signature_header([SECRET], int(time.time()), body)},
    )
    assert response.status_code == 200, response.text
    handle = env.client.get_workflow_handle(
        stripe_event.workflow_id(firm_id, payload["id"]), result_type=StripeEventResult
    )
    async with asyncio.timeout(60):
        result: StripeEventResult = await handle.result()
    return result


@dataclass(frozen=True)
class Ledger:
    status: str
    amount_paid: int
    balance: int
    paid_in: int
    refunded: int
    credit: int


async def ledger(maker: Maker, invoice: Invoice) -> Ledger:
    async with tenant_session(invoice.firm_id, maker) as session:
        fresh = await session.get(Invoice, invoice.id)
        assert fresh is not None
        sums = dict(
            (
                await session.execute(
                    select(Payment.kind, func.sum(Payment.amount))
                    .where(Payment.client_id == invoice.client_id)
                    .group_by(Payment.kind)
                )
            ).all()
        )
        credit = await session.scalar(
            select(func.coalesce(func.sum(ClientCredit.amount), 0)).where(
                ClientCredit.client_id == invoice.client_id
            )
        )
    return Ledger(
        status=fresh.status,
        amount_paid=fresh.amount_paid,
        balance=fresh.balance,
        paid_in=int(sums.get("payment", 0)),
        refunded=int(sums.get("refund", 0)),
        credit=int(credit or 0),
    )


@dataclass(frozen=True)
class Scenario:
    """One card payment of an invoice, as Stripe's events describe it. ``charged_at`` is
    the charge's own ``created``; each event's ``created`` is the moment Stripe sent it."""

    invoice: Invoice
    intent_id: str
    charge_id: str
    charged_at: int = field(default_factory=lambda: int(time.time()))
    dispute_id: str = field(default_factory=lambda: f"dp_{uuid.uuid4().hex[:16]}")

    @property
    def metadata(self) -> dict[str, str]:
        return invoice_metadata(self.invoice.firm_id, self.invoice.id)

    def checkout_completed(self) -> dict[str, Any]:
        obj = checkout_session(
            self.metadata, amount=TOTAL, currency="usd", payment_intent=self.intent_id
        )
        return event("checkout.session.completed", obj, created=int(time.time()))

    def succeeded(self, *, at: int | None = None, **extra: Any) -> dict[str, Any]:
        obj = payment_intent(
            self.metadata, amount=TOTAL, currency="usd", intent_id=self.intent_id, **extra
        )
        return event("payment_intent.succeeded", obj, created=at or int(time.time()))

    def failed(self) -> dict[str, Any]:
        obj = payment_intent(
            self.metadata, amount=TOTAL, currency="usd", intent_id=self.intent_id, succeeded=False
        )
        return event("payment_intent.payment_failed", obj, created=int(time.time()))

    def refunded(self, cumulative: int, *, at: int | None = None) -> dict[str, Any]:
        obj = charge(
            self.metadata,
            amount=TOTAL,
            refunded=cumulative,
            currency="usd",
            intent_id=self.intent_id,
            charge_id=self.charge_id,
            created=self.charged_at,
        )
        return event("charge.refunded", obj, created=at or int(time.time()))

    def disputed(
        self,
        kind: str = "created",
        *,
        status: str = "needs_response",
        amount: int = TOTAL,
        opened_at: int = 0,
        at: int | None = None,
    ) -> dict[str, Any]:
        """A ``charge.dispute.<kind>`` event of this charge's one dispute."""
        obj = dispute(
            amount=amount,
            currency="usd",
            intent_id=self.intent_id,
            charge_id=self.charge_id,
            dispute_id=self.dispute_id,
            status=status,
            created=opened_at,
        )
        return event(f"charge.dispute.{kind}", obj, created=at or int(time.time()))


async def scenario(
    maker: Maker,
    actor: Actor,
    *,
    status: InvoiceStatus = InvoiceStatus.open,
    invoice: Invoice | None = None,
    charged_at: int | None = None,
) -> Scenario:
    """A new card payment: of a new invoice in ``status``, or of ``invoice``."""
    if invoice is None:
        async with maker() as session:
            invoice = await make_invoice(session, actor, lines=((1, TOTAL),), status=status)
    suffix = uuid.uuid4().hex[:16]
    return Scenario(
        invoice=invoice,
        intent_id=f"pi_{suffix}",
        charge_id=f"ch_{suffix}",
        charged_at=charged_at or int(time.time()),
    )


async def run_all(
    api: AsyncClient, env: WorkflowEnvironment, actor: Actor, events: Sequence[dict[str, Any]]
) -> list[StripeEventResult | None]:
    return [await deliver(api, env, actor.firm.id, payload) for payload in events]


PAID = Ledger(status="paid", amount_paid=TOTAL, balance=0, paid_in=TOTAL, refunded=0, credit=0)
REFUNDED = Ledger(
    status="open", amount_paid=0, balance=TOTAL, paid_in=TOTAL, refunded=TOTAL, credit=0
)


@pytest.mark.parametrize("checkout_first", [True, False])
async def test_checkout_and_payment_intent_in_either_order_pay_once(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    committing_sessionmaker: Maker,
    books: Actor,
    worker: Worker,
    checkout_first: bool,
) -> None:
    case = await scenario(committing_sessionmaker, books)
    events = [case.checkout_completed(), case.succeeded()]
    if not checkout_first:
        events.reverse()

    results = await run_all(temporal_api, temporal_env, books, events)

    assert [r.status for r in results if r] == ["processed", "processed"]
    assert await ledger(committing_sessionmaker, case.invoice) == PAID
    async with tenant_session(books.firm.id, committing_sessionmaker) as session:
        [payment] = (
            await session.scalars(select(Payment).where(Payment.invoice_id == case.invoice.id))
        ).all()
        assert (payment.provider, payment.provider_ref, payment.method) == (
            "stripe",
            case.intent_id,
            "card",
        )
        statuses = (
            await session.scalars(
                select(StripeEvent.status).where(StripeEvent.firm_id == books.firm.id)
            )
        ).all()
        assert statuses == ["processed", "processed"]


async def test_a_payment_delivered_five_times_is_recorded_once(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    committing_sessionmaker: Maker,
    books: Actor,
    worker: Worker,
) -> None:
    case = await scenario(committing_sessionmaker, books)
    payload = case.succeeded()

    await run_all(temporal_api, temporal_env, books, [payload] * 5)

    assert await ledger(committing_sessionmaker, case.invoice) == PAID


@pytest.mark.parametrize(
    "order",
    [
        pytest.param(("checkout", "succeeded", "refunded"), id="in-order"),
        pytest.param(("refunded", "succeeded"), id="refund-first"),
        pytest.param(("refunded", "checkout", "succeeded"), id="refund-then-checkout"),
        pytest.param(("succeeded", "refunded", "refunded"), id="refund-twice"),
    ],
)
async def test_a_refund_converges_whatever_the_order(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    committing_sessionmaker: Maker,
    books: Actor,
    worker: Worker,
    order: tuple[str, ...],
) -> None:
    case = await scenario(committing_sessionmaker, books)
    made: dict[str, Callable[[], dict[str, Any]]] = {
        "checkout": case.checkout_completed,
        "succeeded": case.succeeded,
        "refunded": lambda: case.refunded(TOTAL),
    }

    await run_all(temporal_api, temporal_env, books, [made[name]() for name in order])

    assert await ledger(committing_sessionmaker, case.invoice) == REFUNDED


@pytest.mark.parametrize("newest_first", [True, False])
async def test_partial_refunds_overtaken_by_newer_ones_are_not_counted_twice(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    committing_sessionmaker: Maker,
    books: Actor,
    worker: Worker,
    newest_first: bool,
) -> None:
    case = await scenario(committing_sessionmaker, books)
    refunds = [case.refunded(3_000), case.refunded(7_500)]
    if newest_first:
        refunds.reverse()

    await run_all(temporal_api, temporal_env, books, [case.succeeded(), *refunds])

    assert await ledger(committing_sessionmaker, case.invoice) == Ledger(
        status="partially_paid",
        amount_paid=2_500,
        balance=7_500,
        paid_in=TOTAL,
        refunded=7_500,
        credit=0,
    )


async def test_a_payment_on_a_void_invoice_becomes_client_credit(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    committing_sessionmaker: Maker,
    books: Actor,
    worker: Worker,
) -> None:
    case = await scenario(committing_sessionmaker, books, status=InvoiceStatus.void)

    await run_all(temporal_api, temporal_env, books, [case.succeeded(), case.checkout_completed()])

    assert await ledger(committing_sessionmaker, case.invoice) == Ledger(
        status="void",
        amount_paid=0,
        balance=case.invoice.balance,
        paid_in=TOTAL,
        refunded=0,
        credit=TOTAL,
    )


async def told_staff(maker: Maker, case: Scenario) -> None:
    """The dispute of ``case`` reached staff once: a task on the client, the audit event
    and the domain event, all naming the invoice the payment was made for."""
    dispute_id = case.dispute_id
    async with tenant_session(case.invoice.firm_id, maker) as session:
        [task] = (
            await session.scalars(select(Task).where(Task.client_id == case.invoice.client_id))
        ).all()
        assert "dispute" in task.title and dispute_id in (task.description or "")
        [audit] = (
            await session.scalars(
                select(AuditEvent).where(
                    AuditEvent.action == "invoice.disputed",
                    AuditEvent.record_id == case.invoice.id,
                )
            )
        ).all()
        assert audit.summary["after"]["dispute"] == dispute_id
        announced = await session.scalar(
            select(OutboxMessage.payload).where(
                OutboxMessage.dedupe_key == f"invoice.disputed:{dispute_id}"
            )
        )
    assert announced is not None and announced["invoice_id"] == str(case.invoice.id)


async def credit_of(maker: Maker, invoice: Invoice) -> int:
    async with tenant_session(invoice.firm_id, maker) as session:
        return await credits.balance(
            session, Principal.system(invoice.firm_id), invoice.client_id, invoice.currency
        )


async def disputes_of(maker: Maker, invoice: Invoice) -> list[PaymentDispute]:
    async with tenant_session(invoice.firm_id, maker) as session:
        return list(
            (
                await session.scalars(
                    select(PaymentDispute).where(PaymentDispute.client_id == invoice.client_id)
                )
            ).all()
        )


async def test_a_dispute_of_an_invoice_payment_tells_staff_and_marks_nothing(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    committing_sessionmaker: Maker,
    books: Actor,
    worker: Worker,
) -> None:
    case = await scenario(committing_sessionmaker, books)

    await run_all(temporal_api, temporal_env, books, [case.succeeded(), case.disputed()])

    assert await ledger(committing_sessionmaker, case.invoice) == PAID
    await told_staff(committing_sessionmaker, case)
    [row] = await disputes_of(committing_sessionmaker, case.invoice)
    assert (row.status, row.amount, row.frozen_credit) == ("open", TOTAL, 0)


@pytest.mark.parametrize("outcome", ["won", "lost"])
async def test_a_dispute_of_a_payment_that_all_went_to_credit_freezes_the_credit(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    committing_sessionmaker: Maker,
    books: Actor,
    worker: Worker,
    outcome: str,
) -> None:
    first = await scenario(committing_sessionmaker, books)
    # The client paid twice: the second payment has no invoice, only client credit.
    twice = await scenario(committing_sessionmaker, books, invoice=first.invoice)
    await run_all(temporal_api, temporal_env, books, [first.succeeded(), twice.succeeded()])
    assert await credit_of(committing_sessionmaker, first.invoice) == TOTAL
    async with committing_sessionmaker() as session:
        owed = await make_invoice(
            session, books, client_id=first.invoice.client_id, lines=((1, TOTAL),)
        )

    [opened] = await run_all(temporal_api, temporal_env, books, [twice.disputed()])

    assert opened is not None and opened.status == "processed"
    await told_staff(committing_sessionmaker, twice)
    assert await credit_of(committing_sessionmaker, first.invoice) == 0
    async with tenant_session(books.firm.id, committing_sessionmaker) as session:
        with pytest.raises(Unprocessable):
            await payments.apply_credit(
                session, Principal.system(books.firm.id), invoice_id=owed.id, amount=None
            )
    [row] = await disputes_of(committing_sessionmaker, first.invoice)
    assert (row.status, row.frozen_credit) == ("open", TOTAL)

    await run_all(
        temporal_api,
        temporal_env,
        books,
        [
            twice.disputed("updated", status="under_review"),
            twice.disputed("closed", status=outcome),
        ],
    )

    [row] = await disputes_of(committing_sessionmaker, first.invoice)
    assert row.status == outcome
    if outcome == "won":
        assert await credit_of(committing_sessionmaker, first.invoice) == TOTAL
        async with tenant_session(books.firm.id, committing_sessionmaker) as session:
            spent = await payments.apply_credit(
                session, Principal.system(books.firm.id), invoice_id=owed.id, amount=None
            )
        assert spent.amount == TOTAL
    else:
        assert await credit_of(committing_sessionmaker, first.invoice) == 0
        assert await ledger(committing_sessionmaker, first.invoice) == Ledger(
            status="paid",
            amount_paid=TOTAL,
            balance=0,
            paid_in=2 * TOTAL,
            refunded=TOTAL,
            credit=0,
        )


async def test_a_dispute_of_a_payment_on_a_void_invoice_is_accepted_and_told(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    committing_sessionmaker: Maker,
    books: Actor,
    worker: Worker,
) -> None:
    case = await scenario(committing_sessionmaker, books, status=InvoiceStatus.void)
    await run_all(temporal_api, temporal_env, books, [case.succeeded()])

    [opened] = await run_all(temporal_api, temporal_env, books, [case.disputed()])

    assert opened is not None and opened.status == "processed"
    await told_staff(committing_sessionmaker, case)
    assert await credit_of(committing_sessionmaker, case.invoice) == 0
    [row] = await disputes_of(committing_sessionmaker, case.invoice)
    assert (row.status, row.frozen_credit) == ("open", TOTAL)


async def test_a_dispute_before_its_payment_is_accepted_and_applied_when_the_payment_lands(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    committing_sessionmaker: Maker,
    books: Actor,
    worker: Worker,
) -> None:
    case = await scenario(committing_sessionmaker, books)
    early = case.disputed()

    [waiting] = await run_all(temporal_api, temporal_env, books, [early])

    assert waiting is not None and waiting.status == "waiting"
    assert await disputes_of(committing_sessionmaker, case.invoice) == []
    # Delivered once more before the payment: still stored once, still waiting.
    await run_all(temporal_api, temporal_env, books, [early])

    # The payment lands; Stripe never redelivers the dispute.
    await run_all(temporal_api, temporal_env, books, [case.succeeded()])

    assert await ledger(committing_sessionmaker, case.invoice) == PAID
    await told_staff(committing_sessionmaker, case)
    async with tenant_session(books.firm.id, committing_sessionmaker) as session:
        row = await session.scalar(select(StripeEvent).where(StripeEvent.event_id == early["id"]))
    assert row is not None and row.status == "processed"


@pytest.mark.parametrize("refund_first", [True, False])
async def test_a_payment_and_its_refund_are_dated_by_stripe_not_by_arrival(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    committing_sessionmaker: Maker,
    books: Actor,
    worker: Worker,
    refund_first: bool,
) -> None:
    day = 86_400
    charged_at = int(time.time()) - 9 * day
    refunded_at = charged_at + 3 * day
    case = await scenario(committing_sessionmaker, books, charged_at=charged_at)
    events = [case.succeeded(at=charged_at + 30), case.refunded(TOTAL, at=refunded_at)]
    if refund_first:
        events.reverse()

    await run_all(temporal_api, temporal_env, books, events)

    zone = ZoneInfo(books.firm.time_zone)
    async with tenant_session(books.firm.id, committing_sessionmaker) as session:
        dated = dict(
            (
                await session.execute(
                    select(Payment.kind, Payment.received_on).where(
                        Payment.client_id == case.invoice.client_id
                    )
                )
            )
            .tuples()
            .all()
        )
    assert dated == {
        "payment": datetime.fromtimestamp(charged_at, zone).date(),
        "refund": datetime.fromtimestamp(refunded_at, zone).date(),
    }


@dataclass(frozen=True)
class Books:
    """Every row one charge left, without ids and processing times."""

    payments: list[tuple[str, int, int, int, date]]
    credits: list[tuple[int, str]]
    disputes: list[tuple[str, int, int, date]]
    tasks: int
    invoice: Ledger


async def books_of(maker: Maker, invoice: Invoice) -> Books:
    async with tenant_session(invoice.firm_id, maker) as session:
        paid = (
            await session.scalars(select(Payment).where(Payment.client_id == invoice.client_id))
        ).all()
        entries = (
            await session.scalars(
                select(ClientCredit).where(ClientCredit.client_id == invoice.client_id)
            )
        ).all()
        tasks = await session.scalar(
            select(func.count()).select_from(Task).where(Task.client_id == invoice.client_id)
        )
    return Books(
        payments=sorted(
            (p.kind, p.amount, p.applied_amount, p.credited_amount, p.received_on) for p in paid
        ),
        credits=sorted((c.amount, c.reason) for c in entries),
        disputes=[
            (d.status, d.amount, d.frozen_credit, d.opened_on)
            for d in await disputes_of(maker, invoice)
        ],
        tasks=int(tasks or 0),
        invoice=await ledger(maker, invoice),
    )


async def test_one_charge_ends_in_the_same_rows_and_dates_in_every_order(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    committing_sessionmaker: Maker,
    books: Actor,
    worker: Worker,
) -> None:
    now = int(time.time())
    day = 86_400
    charged_at, refunded_at, opened_at = now - 6 * day, now - 4 * day, now - 2 * day
    zone = ZoneInfo(books.firm.time_zone)

    def on(moment: int) -> date:
        return datetime.fromtimestamp(moment, zone).date()

    seen: list[Books] = []
    for order in itertools.permutations(("succeeded", "refunded", "disputed")):
        # A void invoice: all the money is client credit, which a refund takes back and a
        # dispute freezes.
        case = await scenario(
            committing_sessionmaker, books, status=InvoiceStatus.void, charged_at=charged_at
        )
        made = {
            "succeeded": case.succeeded(at=charged_at + 30),
            "refunded": case.refunded(3_000, at=refunded_at),
            "disputed": case.disputed(amount=7_000, opened_at=opened_at, at=opened_at),
        }
        await run_all(temporal_api, temporal_env, books, [made[name] for name in order])
        seen.append(await books_of(committing_sessionmaker, case.invoice))

    expected = Books(
        payments=[
            ("payment", TOTAL, 0, TOTAL, on(charged_at)),
            ("refund", 3_000, 0, 3_000, on(refunded_at)),
        ],
        credits=[
            (-7_000, "dispute_hold"),
            (-3_000, "refunded"),
            (TOTAL, "payment_on_closed_invoice"),
        ],
        disputes=[("open", 7_000, 7_000, on(opened_at))],
        tasks=1,
        invoice=Ledger(
            status="void",
            amount_paid=0,
            balance=case.invoice.balance,
            paid_in=TOTAL,
            refunded=3_000,
            credit=0,
        ),
    )
    assert seen == [expected] * 6


async def test_a_failed_payment_without_a_saved_card_is_only_announced(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    committing_sessionmaker: Maker,
    books: Actor,
    worker: Worker,
    provider: FakePaymentProvider,
) -> None:
    case = await scenario(committing_sessionmaker, books)

    [result] = await run_all(temporal_api, temporal_env, books, [case.failed()])

    assert result is not None and result.outcome == "payment failed; no saved card to retry"
    assert provider.charges == []
    assert await ledger(committing_sessionmaker, case.invoice) == Ledger(
        status="open", amount_paid=0, balance=TOTAL, paid_in=0, refunded=0, credit=0
    )
    async with tenant_session(books.firm.id, committing_sessionmaker) as session:
        kinds = (
            await session.scalars(
                select(OutboxMessage.dedupe_key).where(OutboxMessage.firm_id == books.firm.id)
            )
        ).all()
    assert any(key.startswith("payment.failed:") for key in kinds)
    assert not any(key.startswith("start:payment-retry-") for key in kinds)


async def test_a_failed_payment_with_a_saved_card_is_retried_until_paid(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    committing_sessionmaker: Maker,
    books: Actor,
    worker: Worker,
    provider: FakePaymentProvider,
) -> None:
    async with committing_sessionmaker() as session:
        client = await make_client(session, books)
    # A card payment the client chose to keep on file is how a saved card comes to exist.
    async with committing_sessionmaker() as session:
        earlier = await make_invoice(session, books, client_id=client.id, lines=((1, TOTAL),))
    saving = Scenario(invoice=earlier, intent_id=f"pi_{uuid.uuid4().hex[:16]}", charge_id="ch_x")
    await run_all(
        temporal_api,
        temporal_env,
        books,
        [saving.succeeded(customer="cus_K1", payment_method="pm_K1", save_card=True)],
    )
    async with committing_sessionmaker() as session:
        owed = await make_invoice(session, books, client_id=client.id, lines=((1, TOTAL),))
    failing = Scenario(invoice=owed, intent_id=f"pi_{uuid.uuid4().hex[:16]}", charge_id="ch_y")
    provider.decline = lambda request: request.attempt < 2

    [result] = await run_all(temporal_api, temporal_env, books, [failing.failed()])

    assert result is not None and result.outcome == "payment failed; retries scheduled"
    handle = temporal_env.client.get_workflow_handle(
        payment_retry.workflow_id(owed.id), result_type=PaymentRetryResult
    )
    async with asyncio.timeout(60):
        retried: PaymentRetryResult = await result_skipping_time(temporal_env, handle)
    assert (retried.status, retried.tries) == ("paid", 2)
    assert [c.idempotency_key for c in provider.charges] == [
        f"{owed.id}:{TOTAL}:1",
        f"{owed.id}:{TOTAL}:2",
    ]
    assert {(c.customer_ref, c.method_ref) for c in provider.charges} == {("cus_K1", "pm_K1")}
    assert await ledger(committing_sessionmaker, owed) == Ledger(
        status="paid",
        amount_paid=TOTAL,
        balance=0,
        paid_in=2 * TOTAL,
        refunded=0,
        credit=0,
    )
    async with tenant_session(books.firm.id, committing_sessionmaker) as session:
        saved = (
            await session.scalars(
                select(SavedPaymentMethod).where(SavedPaymentMethod.client_id == client.id)
            )
        ).all()
    assert [(s.customer_ref, s.method_ref) for s in saved] == [("cus_K1", "pm_K1")]


async def test_an_event_that_can_never_apply_is_marked_failed(
    temporal_api: AsyncClient,
    temporal_env: WorkflowEnvironment,
    committing_sessionmaker: Maker,
    settings: Settings,
    books: Actor,
    provider: FakePaymentProvider,
) -> None:
    async with committing_sessionmaker() as session:
        draft = await make_invoice(session, books, status=InvoiceStatus.draft)
    case = Scenario(invoice=draft, intent_id=f"pi_{uuid.uuid4().hex[:16]}", charge_id="ch_z")
    payload = case.succeeded()
    body = json.dumps(payload).encode()
    stored = await temporal_api.post(
        f"/v1/webhooks/stripe/{books.firm.id}",
        content=body,
        headers={"Stripe-Signature": signature_header([SECRET], int(time.time()), body)},
    )
    assert stored.status_code == 200, stored.text
    # The draft is deleted after Stripe's event was stored and before it is applied.
    async with tenant_session(books.firm.id, committing_sessionmaker) as session:
        await delete_invoice(session, Principal.system(books.firm.id), draft.id)
    activities = StripeActivities(
        committing_sessionmaker,
        fixed_client(temporal_env.client),
        cipher=Cipher.from_settings(settings),
        providers=provider.for_key,
    )
    handle = temporal_env.client.get_workflow_handle(
        stripe_event.workflow_id(books.firm.id, payload["id"])
    )
    async with Worker(
        temporal_env.client,
        task_queue=TASK_QUEUE,
        workflows=[StripeEventWorkflow],
        activities=[activities.apply_event],
    ):
        with pytest.raises(WorkflowFailureError):
            async with asyncio.timeout(60):
                await handle.result()

    async with tenant_session(books.firm.id, committing_sessionmaker) as session:
        row = await session.scalar(select(StripeEvent).where(StripeEvent.event_id == payload["id"]))
        recorded = await session.scalar(
            select(func.count()).select_from(Payment).where(Payment.firm_id == books.firm.id)
        )
    assert row is not None and row.status == "failed"
    assert row.outcome == "NotFound: No invoice with this id in your firm"
    assert recorded == 0
