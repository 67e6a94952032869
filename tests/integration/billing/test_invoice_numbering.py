"""Gapless numbering: concurrent finalizations in separate committed transactions take
1..N with no gap and no duplicate; a rolled-back finalization gives its number back; the
prefix is rendered per issue year; credit notes have their own prefix and sequence."""

import asyncio
import uuid
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.db import scope_to_firm, tenant_session
from core.principal import Principal
from models import Invoice, InvoiceKind, InvoiceNumberSequence, InvoiceStatus
from services.billing import invoices
from services.billing.numbering import format_number, render_prefix
from services.billing.settings import SettingsPatch, update_settings
from tests.billing_factories import make_client, make_invoice
from tests.factories import Actor, make_firm

Maker = async_sessionmaker[AsyncSession]
CONCURRENT = 20


async def committed_drafts(maker: Maker, actor: Actor, count: int) -> list[uuid.UUID]:
    async with maker() as session:
        client = await make_client(session, actor)
        ids = []
        for _ in range(count):
            fields = invoices.validate_invoice_fields(
                {
                    "client_id": str(client.id),
                    "issue_date": "2026-03-01",
                    "lines": [{"description": "Work", "quantity": 1, "unit_price": 100}],
                }
            )
            await scope_to_firm(session, actor.firm.id)
            invoice = await invoices.create_invoice(
                session, Principal.system(actor.firm.id), fields=fields
            )
            ids.append(invoice.id)
        await session.commit()
    return ids


async def numbers(maker: Maker, firm_id: uuid.UUID) -> list[str]:
    async with tenant_session(firm_id, maker) as session:
        rows = await session.scalars(
            select(Invoice.number).where(Invoice.number.is_not(None)).order_by(Invoice.number)
        )
        return [number for number in rows if number is not None]


async def test_concurrent_finalizations_take_consecutive_numbers(
    committing_sessionmaker: Maker, committed_owner: Actor
) -> None:
    maker = committing_sessionmaker
    firm_id = committed_owner.firm.id
    ids = await committed_drafts(maker, committed_owner, CONCURRENT)

    async def finalize(invoice_id: uuid.UUID) -> str | None:
        async with tenant_session(firm_id, maker) as session:
            invoice = await invoices.finalize_invoice(
                session, Principal.system(firm_id), invoice_id
            )
            return invoice.number

    taken = await asyncio.gather(*(finalize(invoice_id) for invoice_id in ids))
    expected = [f"INV-2026-{n:04d}" for n in range(1, CONCURRENT + 1)]
    assert sorted(n for n in taken if n is not None) == expected
    assert await numbers(maker, firm_id) == expected


async def test_a_rolled_back_finalization_gives_its_number_back(
    committing_sessionmaker: Maker, committed_owner: Actor
) -> None:
    maker = committing_sessionmaker
    firm_id = committed_owner.firm.id
    first, second = await committed_drafts(maker, committed_owner, 2)
    async with maker() as session:
        await scope_to_firm(session, firm_id)
        abandoned = await invoices.finalize_invoice(session, Principal.system(firm_id), first)
        assert abandoned.number == "INV-2026-0001"
        await session.rollback()
    async with tenant_session(firm_id, maker) as session:
        kept = await invoices.finalize_invoice(session, Principal.system(firm_id), second)
        assert kept.number == "INV-2026-0001"
    async with tenant_session(firm_id, maker) as session:
        later = await invoices.finalize_invoice(session, Principal.system(firm_id), first)
        assert later.number == "INV-2026-0002"
    assert await numbers(maker, firm_id) == ["INV-2026-0001", "INV-2026-0002"]


async def test_prefix_per_year_digits_and_credit_notes(db: AsyncSession) -> None:
    owner = await make_firm(db)
    system = Principal.system(owner.firm.id)
    await scope_to_firm(db, owner.firm.id)
    await update_settings(
        db,
        system,
        patch=SettingsPatch(
            invoice_number_prefix="F/{year}/",
            credit_note_number_prefix="AV-",
            invoice_number_digits=6,
        ),
    )
    client = await make_client(db, owner)
    issued: list[str | None] = []
    for issue_date in ("2025-12-31", "2026-01-01", "2026-01-02"):
        fields = invoices.validate_invoice_fields(
            {
                "client_id": str(client.id),
                "issue_date": issue_date,
                "lines": [{"description": "Work", "quantity": 1, "unit_price": 100}],
            }
        )
        await scope_to_firm(db, owner.firm.id)
        invoice = await invoices.create_invoice(db, system, fields=fields)
        issued.append((await invoices.finalize_invoice(db, system, invoice.id)).number)
    assert issued == ["F/2025/000001", "F/2026/000001", "F/2026/000002"]

    credited = await make_invoice(db, owner, client_id=client.id)
    await scope_to_firm(db, owner.firm.id)
    note = Invoice(
        firm_id=owner.firm.id,
        client_id=client.id,
        kind=InvoiceKind.credit_note.value,
        credited_invoice_id=credited.id,
        status=InvoiceStatus.draft.value,
        currency=credited.currency,
    )
    db.add(note)
    await db.flush()
    finalized = await invoices.finalize_invoice(db, system, note.id)
    assert finalized.number == "AV-000001"
    assert finalized.due_date is None
    prefixes = await db.scalars(
        select(InvoiceNumberSequence.prefix).where(InvoiceNumberSequence.firm_id == owner.firm.id)
    )
    assert set(prefixes) == {"F/2025/", "F/2026/", "AV-"}


def test_rendering_helpers() -> None:
    assert render_prefix("INV-{year}-", date(2026, 5, 1)) == "INV-2026-"
    assert render_prefix("{year}{year}", date(999, 1, 1)) == "09990999"
    assert format_number("INV-", 12345, 4) == "INV-12345"
