"""PaymentRetryWorkflow on the time-skipping server with the fake provider: the fixed
schedule (1, 2, 3, 5, 7, 9, 11, 14 days after the failure), one idempotency key per try,
the stop when the invoice no longer needs the charge, and a retried try charging once."""

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import activity
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.billing_stripe import StripeActivities
from core.config import Settings
from core.crypto import Cipher
from core.db import scope_to_firm, tenant_session
from core.principal import Principal
from core.temporal import fixed_client
from models import Firm, Invoice, InvoiceStatus, Payment, PaymentMethod, SavedPaymentMethod
from providers.payments import ChargeRequest
from services.billing import checkout, payments, stripe_account
from services.billing.stripe_account import SecretKeyFields
from tests.billing_factories import make_client, make_invoice
from tests.factories import Actor, make_firm
from tests.fake_payments import FakePaymentProvider
from workflows.billing.payment_retry import contracts as payment_retry
from workflows.billing.payment_retry.contracts import (
    NextTry,
    PaymentRetryInput,
    PaymentRetryResult,
    RetryCall,
)
from workflows.billing.payment_retry.workflow import RETRY_SCHEDULE_DAYS, PaymentRetryWorkflow

Maker = async_sessionmaker[AsyncSession]
TOTAL = 25_000


@pytest.fixture
async def firm(committing_sessionmaker: Maker, settings: Settings) -> AsyncIterator[Actor]:
    async with committing_sessionmaker() as session:
        actor = await make_firm(session, "Retries")
    async with tenant_session(actor.firm.id, committing_sessionmaker) as session:
        await stripe_account.set_secret_key(
            session,
            Principal.system(actor.firm.id),
            Cipher.from_settings(settings),
            fields=SecretKeyFields(secret_key="sk_test_" + "retry" * 5),
        )
    yield actor
    async with tenant_session(actor.firm.id, committing_sessionmaker) as session:
        await session.execute(delete(Firm).where(Firm.id == actor.firm.id))


async def owed_invoice(maker: Maker, actor: Actor, *, saved_card: bool = True) -> Invoice:
    async with maker() as session:
        client = await make_client(session, actor)
        invoice = await make_invoice(session, actor, client_id=client.id, lines=((1, TOTAL),))
    if saved_card:
        async with tenant_session(actor.firm.id, maker) as session:
            session.add(
                SavedPaymentMethod(
                    firm_id=actor.firm.id,
                    client_id=client.id,
                    provider="stripe",
                    customer_ref="cus_R1",
                    method_ref=f"pm_{uuid.uuid4().hex[:12]}",
                )
            )
    return invoice


@pytest.fixture
def provider() -> FakePaymentProvider:
    return FakePaymentProvider()


@pytest.fixture
async def worker(
    temporal_env: WorkflowEnvironment,
    committing_sessionmaker: Maker,
    settings: Settings,
    provider: FakePaymentProvider,
    task_queue: str,
) -> AsyncIterator[Worker]:
    activities = StripeActivities(
        committing_sessionmaker,
        fixed_client(temporal_env.client),
        cipher=Cipher.from_settings(settings),
        providers=provider.for_key,
    )
    async with Worker(
        temporal_env.client,
        task_queue=task_queue,
        workflows=[PaymentRetryWorkflow],
        activities=[activities.retry_payment],
    ) as running:
        yield running


class Decline:
    """Declines tries before ``until`` and notes when (server time) each try ran."""

    def __init__(self, times: list[datetime], until: int) -> None:
        self.times = times
        self.until = until

    def __call__(self, request: ChargeRequest) -> bool:
        self.times.append(activity.info().current_attempt_scheduled_time)
        return request.attempt < self.until


async def run_retries(
    env: WorkflowEnvironment, invoice: Invoice, task_queue: str
) -> tuple[datetime, PaymentRetryResult]:
    failed_at = await env.get_current_time()
    result = await env.client.execute_workflow(
        PaymentRetryWorkflow.run,
        PaymentRetryInput(firm_id=invoice.firm_id, invoice_id=invoice.id, failed_at=failed_at),
        id=payment_retry.workflow_id(invoice.id),
        task_queue=task_queue,
    )
    return failed_at, result


def days_after(start: datetime, times: list[datetime]) -> list[float]:
    return [round((moment - start) / timedelta(days=1), 2) for moment in times]


async def invoice_state(maker: Maker, invoice: Invoice) -> tuple[str, int, int]:
    async with tenant_session(invoice.firm_id, maker) as session:
        fresh = await session.get(Invoice, invoice.id)
        count = await session.scalar(
            select(func.count()).select_from(Payment).where(Payment.invoice_id == invoice.id)
        )
    assert fresh is not None
    return fresh.status, fresh.balance, count or 0


async def test_tries_follow_the_schedule_until_the_card_goes_through(
    temporal_env: WorkflowEnvironment,
    committing_sessionmaker: Maker,
    firm: Actor,
    provider: FakePaymentProvider,
    worker: Worker,
    task_queue: str,
) -> None:
    invoice = await owed_invoice(committing_sessionmaker, firm)
    times: list[datetime] = []
    provider.decline = Decline(times, until=4)

    failed_at, result = await run_retries(temporal_env, invoice, task_queue)

    assert (result.status, result.tries) == ("paid", 4)
    assert days_after(failed_at, times) == [1.0, 2.0, 3.0, 5.0]
    assert [c.idempotency_key for c in provider.charges] == [
        f"{invoice.id}:{TOTAL}:{n}" for n in (1, 2, 3, 4)
    ]
    assert {c.amount for c in provider.charges} == {TOTAL}
    assert await invoice_state(committing_sessionmaker, invoice) == ("paid", 0, 1)


async def test_eight_declines_in_two_weeks_exhaust_the_schedule(
    temporal_env: WorkflowEnvironment,
    committing_sessionmaker: Maker,
    firm: Actor,
    provider: FakePaymentProvider,
    worker: Worker,
    task_queue: str,
) -> None:
    invoice = await owed_invoice(committing_sessionmaker, firm)
    times: list[datetime] = []
    provider.decline = Decline(times, until=99)

    failed_at, result = await run_retries(temporal_env, invoice, task_queue)

    assert (result.status, result.tries) == ("exhausted", 8)
    assert days_after(failed_at, times) == [float(d) for d in RETRY_SCHEDULE_DAYS]
    assert len({c.idempotency_key for c in provider.charges}) == 8
    assert await invoice_state(committing_sessionmaker, invoice) == ("open", TOTAL, 0)


async def test_the_next_try_is_visible_while_waiting(
    temporal_env: WorkflowEnvironment,
    committing_sessionmaker: Maker,
    firm: Actor,
    provider: FakePaymentProvider,
    worker: Worker,
    task_queue: str,
) -> None:
    invoice = await owed_invoice(committing_sessionmaker, firm)
    failed_at = await temporal_env.get_current_time()
    handle = await temporal_env.client.start_workflow(
        PaymentRetryWorkflow.run,
        PaymentRetryInput(firm_id=firm.firm.id, invoice_id=invoice.id, failed_at=failed_at),
        id=payment_retry.workflow_id(invoice.id),
        task_queue=task_queue,
    )

    upcoming = await handle.query(payment_retry.NEXT_TRY_QUERY, result_type=NextTry)
    assert upcoming.attempt == 1 and upcoming.at == failed_at + timedelta(days=1)

    result = await handle.result()
    assert (result.status, result.tries) == ("paid", 1)
    assert await invoice_state(committing_sessionmaker, invoice) == ("paid", 0, 1)


async def test_an_invoice_paid_meanwhile_stops_the_retries_without_a_charge(
    temporal_env: WorkflowEnvironment,
    committing_sessionmaker: Maker,
    firm: Actor,
    provider: FakePaymentProvider,
    worker: Worker,
    task_queue: str,
) -> None:
    invoice = await owed_invoice(committing_sessionmaker, firm)
    async with tenant_session(firm.firm.id, committing_sessionmaker) as session:
        await payments.record_payment(
            session,
            Principal.system(firm.firm.id),
            invoice_id=invoice.id,
            amount=TOTAL,
            currency=invoice.currency,
            method=PaymentMethod.bank_transfer,
            received_on=(await temporal_env.get_current_time()).date(),
        )

    _, result = await run_retries(temporal_env, invoice, task_queue)

    assert (result.status, result.tries, result.detail) == ("stopped", 0, "it is paid")
    assert provider.charges == []
    assert await invoice_state(committing_sessionmaker, invoice) == ("paid", 0, 1)


async def test_without_a_saved_card_nothing_is_charged(
    temporal_env: WorkflowEnvironment,
    committing_sessionmaker: Maker,
    firm: Actor,
    provider: FakePaymentProvider,
    worker: Worker,
    task_queue: str,
) -> None:
    invoice = await owed_invoice(committing_sessionmaker, firm, saved_card=False)

    _, result = await run_retries(temporal_env, invoice, task_queue)

    assert (result.status, result.detail) == ("stopped", "the client has no saved card")
    assert provider.charges == []
    assert await invoice_state(committing_sessionmaker, invoice) == ("open", TOTAL, 0)


async def test_a_try_repeated_after_a_lost_commit_charges_and_records_once(
    committing_sessionmaker: Maker,
    settings: Settings,
    firm: Actor,
    provider: FakePaymentProvider,
) -> None:
    invoice = await owed_invoice(committing_sessionmaker, firm)
    call = RetryCall(firm_id=firm.firm.id, invoice_id=invoice.id, attempt=3)
    cipher = Cipher.from_settings(settings)
    # The card was charged, then the transaction recording it never committed (a crash):
    # Temporal runs the try again.
    async with committing_sessionmaker() as session:
        await scope_to_firm(session, firm.firm.id)
        lost = await checkout.retry_charge(session, call, cipher=cipher, providers=provider.for_key)
        await session.rollback()
    async with tenant_session(firm.firm.id, committing_sessionmaker) as session:
        again = await checkout.retry_charge(
            session, call, cipher=cipher, providers=provider.for_key
        )

    assert lost.status == again.status == "succeeded"
    assert lost.payment_intent_id == again.payment_intent_id
    assert [c.idempotency_key for c in provider.charges] == [f"{invoice.id}:{TOTAL}:3"] * 2
    assert provider.charges_made == 1
    assert await invoice_state(committing_sessionmaker, invoice) == ("paid", 0, 1)


@pytest.mark.parametrize("status", [InvoiceStatus.void, InvoiceStatus.uncollectible])
async def test_void_or_written_off_invoices_are_not_charged(
    committing_sessionmaker: Maker,
    settings: Settings,
    firm: Actor,
    provider: FakePaymentProvider,
    status: InvoiceStatus,
) -> None:
    async with committing_sessionmaker() as session:
        invoice = await make_invoice(session, firm, status=status)
    async with tenant_session(firm.firm.id, committing_sessionmaker) as session:
        outcome = await checkout.retry_charge(
            session,
            RetryCall(firm_id=firm.firm.id, invoice_id=invoice.id, attempt=1),
            cipher=Cipher.from_settings(settings),
            providers=provider.for_key,
        )
    assert (outcome.status, outcome.detail) == ("stopped", f"it is {status.value}")
    assert provider.charges == []
