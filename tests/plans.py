"""Query plans of the statements the services build, as the application runs them.

ANALYZE needs the tables' owner and must see the rows it measures, so index tests fill the
tables through a superuser connection inside a transaction rolled back at the end, then drop
to the application role (row-level security applies again) before each EXPLAIN."""

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, create_async_engine

from core.db import APP_ROLE, scope_to_firm
from tests.fixtures.db import TestDatabase


@asynccontextmanager
async def populated_session(
    database: TestDatabase, populate: Callable[[AsyncConnection], Awaitable[None]]
) -> AsyncIterator[AsyncSession]:
    engine = create_async_engine(database.server.url("postgres", database.name))
    async with engine.connect() as conn:
        transaction = await conn.begin()
        await populate(conn)
        yield AsyncSession(bind=conn)
        await transaction.rollback()
    await engine.dispose()


async def insert_firm(conn: AsyncConnection, firm_id: uuid.UUID, name: str) -> None:
    """The firm an index test fills, with the session scoped to it (row-level security)."""
    await conn.execute(
        text("SELECT set_config('app.firm_id', :firm, true)"), {"firm": str(firm_id)}
    )
    await conn.execute(
        text(
            "INSERT INTO firms (id, name, slug, time_zone, default_currency)"
            " VALUES (:firm, :name, :slug, 'UTC', 'USD')"
        ),
        {"firm": firm_id, "name": name, "slug": f"index-{uuid.uuid4().hex[:8]}"},
    )


async def explain(session: AsyncSession, stmt: Select[Any]) -> str:
    conn = await session.connection()
    # An IN list's parameters are expanded at execution: render them into the statement.
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    result = await conn.exec_driver_sql(f"EXPLAIN {compiled.string}", compiled.params)
    return "\n".join(row[0] for row in result)


async def app_plans(
    session: AsyncSession, firm_id: uuid.UUID, statements: Mapping[str, Select[Any]]
) -> dict[str, str]:
    """Each statement's plan under the application role, scoped to ``firm_id``."""
    plans = {}
    for name, stmt in statements.items():
        await session.execute(text(f"SET LOCAL ROLE {APP_ROLE}"))
        await scope_to_firm(session, firm_id)
        plans[name] = await explain(session, stmt)
    return plans


def assert_no_sequential_scan(plans: Mapping[str, str]) -> None:
    sequential = {name: plan for name, plan in plans.items() if "Seq Scan" in plan}
    assert not sequential, "\n\n".join(f"{n}:\n{p}" for n, p in sequential.items())
