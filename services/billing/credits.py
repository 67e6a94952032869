"""The client credit ledger: a client's credit in a currency is the sum of its entries and
never goes below 0. Granting credit needs no lock; spending or taking it back locks the
client's row first, so two spends cannot both see the same balance."""

import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import NotFound
from core.principal import Principal
from models import Client, ClientCredit, CreditReason, Firm, Payment


async def firm_today(session: AsyncSession, principal: Principal) -> date:
    """Today where the firm is (its time zone): the date a person would write down."""
    time_zone = await session.scalar(select(Firm.time_zone).where(Firm.id == principal.firm_id))
    return datetime.now(ZoneInfo(time_zone or "UTC")).date()


async def lock_client(session: AsyncSession, principal: Principal, client_id: uuid.UUID) -> None:
    found = await session.scalar(
        select(Client.id)
        .where(Client.firm_id == principal.firm_id, Client.id == client_id)
        .with_for_update()
    )
    if found is None:
        raise NotFound("No client with this id in your firm")


async def balance(
    session: AsyncSession, principal: Principal, client_id: uuid.UUID, currency: str
) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(ClientCredit.amount), 0)).where(
            ClientCredit.firm_id == principal.firm_id,
            ClientCredit.client_id == client_id,
            ClientCredit.currency == currency,
        )
    )
    return int(total or 0)


async def balances(
    session: AsyncSession, principal: Principal, client_id: uuid.UUID
) -> dict[str, int]:
    """The client's credit per currency (currencies whose entries sum to 0 included);
    another firm's client is a 404."""
    found = await session.scalar(
        select(Client.id).where(Client.firm_id == principal.firm_id, Client.id == client_id)
    )
    if found is None:
        raise NotFound("No client with this id in your firm")
    rows = await session.execute(
        select(ClientCredit.currency, func.sum(ClientCredit.amount))
        .where(ClientCredit.firm_id == principal.firm_id, ClientCredit.client_id == client_id)
        .group_by(ClientCredit.currency)
        .order_by(ClientCredit.currency)
    )
    return {currency: int(amount) for currency, amount in rows.tuples()}


async def grant(
    session: AsyncSession,
    principal: Principal,
    *,
    client_id: uuid.UUID,
    currency: str,
    amount: int,
    reason: CreditReason,
    payment_id: uuid.UUID | None = None,
    invoice_id: uuid.UUID | None = None,
) -> ClientCredit:
    entry = ClientCredit(
        firm_id=principal.firm_id,
        client_id=client_id,
        currency=currency,
        amount=amount,
        reason=reason.value,
        payment_id=payment_id,
        invoice_id=invoice_id,
        created_by=principal.user_id,
    )
    session.add(entry)
    await session.flush()
    return entry


async def spend(
    session: AsyncSession,
    principal: Principal,
    *,
    client_id: uuid.UUID,
    currency: str,
    amount: int,
    payment_id: uuid.UUID,
    invoice_id: uuid.UUID,
) -> None:
    """A negative entry for credit applied to an invoice; the caller holds the client's
    lock and checked the balance covers it."""
    session.add(
        ClientCredit(
            firm_id=principal.firm_id,
            client_id=client_id,
            currency=currency,
            amount=-amount,
            reason=CreditReason.applied.value,
            payment_id=payment_id,
            invoice_id=invoice_id,
            created_by=principal.user_id,
        )
    )
    await session.flush()


async def take_back(
    session: AsyncSession,
    principal: Principal,
    *,
    client_id: uuid.UUID,
    currency: str,
    amount: int,
    payment_id: uuid.UUID,
) -> int:
    """Remove up to ``amount`` of the client's credit for a refund; returns how much was
    there to remove (less than asked when the credit was already spent)."""
    await lock_client(session, principal, client_id)
    available = await balance(session, principal, client_id, currency)
    taken = min(amount, available)
    if taken > 0:
        session.add(
            ClientCredit(
                firm_id=principal.firm_id,
                client_id=client_id,
                currency=currency,
                amount=-taken,
                reason=CreditReason.refunded.value,
                payment_id=payment_id,
                created_by=principal.user_id,
            )
        )
        await session.flush()
    return taken


async def taken_by(session: AsyncSession, refund: Payment) -> int:
    """How much client credit a refund removed."""
    total = await session.scalar(
        select(func.coalesce(func.sum(ClientCredit.amount), 0)).where(
            ClientCredit.firm_id == refund.firm_id,
            ClientCredit.payment_id == refund.id,
            ClientCredit.reason == CreditReason.refunded.value,
        )
    )
    return -int(total or 0)
