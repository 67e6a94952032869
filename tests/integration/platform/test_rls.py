"""Row-level security is the second wall: even a query that forgets its firm filter sees
only the firm named in ``app.firm_id``."""

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import scope_to_firm
from tests.factories import make_firm


async def test_raw_query_under_wrong_firm_sees_nothing(db: AsyncSession) -> None:
    a = await make_firm(db, "Alpha")
    b = await make_firm(db, "Beta")

    await scope_to_firm(db, b.firm.id)
    rows = (
        await db.execute(text("SELECT id FROM users WHERE firm_id = :f"), {"f": a.firm.id})
    ).all()
    assert rows == []
    firms = (await db.execute(text("SELECT id FROM firms"))).scalars().all()
    assert firms == [b.firm.id]

    await scope_to_firm(db, a.firm.id)
    rows = (await db.execute(text("SELECT id FROM users"))).scalars().all()
    assert rows == [a.user.id]


async def test_no_firm_set_sees_nothing(db: AsyncSession) -> None:
    await make_firm(db)
    await db.execute(text("SELECT set_config('app.firm_id', '', true)"))
    await scope_to_firm(db, uuid.uuid4())
    assert (await db.execute(text("SELECT count(*) FROM users"))).scalar_one() == 0


async def test_runtime_role_cannot_write_into_another_firm(db: AsyncSession) -> None:
    a = await make_firm(db, "Alpha")
    b = await make_firm(db, "Beta")
    await scope_to_firm(db, b.firm.id)
    result = await db.execute(
        text("UPDATE users SET name = 'hijacked' WHERE firm_id = :f"), {"f": a.firm.id}
    )
    assert result.rowcount == 0  # type: ignore[attr-defined]


async def test_runtime_role_is_not_owner_or_superuser(db: AsyncSession) -> None:
    row = (
        await db.execute(
            text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
        )
    ).one()
    assert row == (False, False)
    owners = (
        await db.execute(
            text(
                "SELECT count(*) FROM pg_tables"
                " WHERE schemaname = 'public' AND tableowner = current_user"
            )
        )
    ).scalar_one()
    assert owners == 0


async def test_firm_clients_view_applies_the_firm_condition(db: AsyncSession) -> None:
    a = await make_firm(db, "Alpha")
    b = await make_firm(db, "Beta")
    for actor in (a, b):
        await scope_to_firm(db, actor.firm.id)
        await db.execute(
            text(
                "INSERT INTO clients (id, firm_id, kind, name, status, tags, custom_fields) "
                "VALUES (gen_random_uuid(), :f, 'person', 'Look Alike', 'active', '{}', '{}')"
            ),
            {"f": actor.firm.id},
        )
    await scope_to_firm(db, b.firm.id)
    visible = (
        (await db.execute(text("SELECT firm_id FROM firm_clients WHERE name = 'Look Alike'")))
        .scalars()
        .all()
    )
    assert visible == [b.firm.id]
    await db.execute(text("SELECT set_config('app.firm_id', :f, true)"), {"f": str(uuid.uuid4())})
    assert (await db.execute(text("SELECT count(*) FROM firm_clients"))).scalar_one() == 0
