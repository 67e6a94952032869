"""Engines and sessions.

There is one runtime pool, logged in as the application role, which owns nothing and is
subject to row-level security. A *tenant session* sets ``app.firm_id`` for its transaction,
so Postgres itself hides every other firm's rows. A *system session* switches to the
``BYPASSRLS`` system role for the few paths that must cross firms; each caller names its
purpose, and the list of purposes is documented in docs/architecture.md.
"""

import enum
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import psycopg
from psycopg.abc import Params, QueryNoTemplate
from sqlalchemy import text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from core.config import get_settings

APP_ROLE = "firmflow_app"
SYSTEM_ROLE = "firmflow_system"


class SystemPurpose(enum.StrEnum):
    """Every reason to read across firms. Adding one means documenting it."""

    authenticate = "authenticate"  # bearer token lookup
    login = "login"  # email + password lookup before the firm is known
    signup = "signup"  # creating a firm (slug uniqueness)
    accept_invitation = "accept_invitation"  # invitation token lookup
    outbox_relay = "outbox_relay"  # dispatching pending outbox rows of every firm
    readiness = "readiness"  # /ready probe
    demo_seed = "demo_seed"  # first start of `make dev`
    sso = "sso"  # SAML login and metadata: the firm is named by its slug
    auth_throttle = "auth_throttle"  # failed sign-in counts per email and client address
    password_reset = "password_reset"  # noqa: S105 (a name) reset request, reset token lookup
    mfa_challenge = "mfa_challenge"  # second-factor and enrolment token lookup at login
    credential_rotation = "credential_rotation"  # re-encrypting every firm's credentials
    webhook_lookup = "webhook_lookup"  # inbound webhook URL token → its automation's firm
    retention_sweep = "retention_sweep"  # the nightly sweep: the firms with documents to review
    # A sealed PDF uploaded to the public verifier → the envelope and firm that sealed it.
    signature_verification = "signature_verification"
    # The platform's sealing certificate: read and generated on first start.
    platform_signing_key = "platform_signing_key"


@lru_cache
def get_engine() -> AsyncEngine:
    settings = get_settings()
    return create_async_engine(
        settings.runtime_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_pre_ping=True,
        # Bound values (password hashes, emails) must never reach an error log.
        hide_parameters=True,
    )


@lru_cache
def get_sessionmaker() -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(get_engine(), expire_on_commit=False)


@dataclass(frozen=True)
class Scoped:
    """A statement for ``scope_to_firm`` to run right after the scope, in its round trip:
    psycopg's own placeholders (``%s``), since it goes to the driver as it is."""

    query: QueryNoTemplate
    params: Params | None = None


async def scope_to_firm(
    session: AsyncSession, firm_id: uuid.UUID, *then: Scoped
) -> list[list[tuple[Any, ...]]]:
    """Make row-level security show only ``firm_id`` for the rest of this transaction.

    ``then``: statements that need the scope, sent with it in one pipeline (one round trip
    for all of them instead of one each); returns their rows as plain tuples, in order (an
    empty list for a statement without rows). They run after ``set_config`` on the server,
    in this transaction, exactly as if executed one by one."""
    if not then:
        await session.execute(text(_SET_FIRM), {"firm_id": str(firm_id)})
        return []
    raw = await (await session.connection()).get_raw_connection()
    driver = raw.driver_connection
    if not isinstance(driver, psycopg.AsyncConnection):
        raise TypeError(f"pipelined statements need psycopg, not {type(driver).__name__}")
    async with driver.pipeline():
        await driver.execute(_SET_FIRM_PSYCOPG, (str(firm_id),))
        cursors = [await driver.execute(statement.query, statement.params) for statement in then]
    return [await cursor.fetchall() if cursor.description else [] for cursor in cursors]


_SET_FIRM = "SELECT set_config('app.firm_id', :firm_id, true)"
_SET_FIRM_PSYCOPG = "SELECT set_config('app.firm_id', %s, true)"


@asynccontextmanager
async def system_scope(session: AsyncSession, purpose: SystemPurpose) -> AsyncIterator[None]:
    """Run a block of ``session`` as the system role, then drop back to the app role."""
    await session.execute(text(f"SET LOCAL ROLE {SYSTEM_ROLE}"))
    session.info.setdefault("system_purposes", []).append(purpose.value)
    yield
    # On an exception the transaction rolls back, which undoes SET LOCAL by itself.
    await session.execute(text("RESET ROLE"))


@asynccontextmanager
async def tenant_session(
    firm_id: uuid.UUID, maker: async_sessionmaker[AsyncSession] | None = None
) -> AsyncIterator[AsyncSession]:
    """A committed-on-success transaction that sees only ``firm_id`` (used by activities)."""
    async with (maker or get_sessionmaker())() as session, session.begin():
        await scope_to_firm(session, firm_id)
        yield session


@asynccontextmanager
async def system_session(
    purpose: SystemPurpose, maker: async_sessionmaker[AsyncSession] | None = None
) -> AsyncIterator[AsyncSession]:
    """A committed-on-success transaction that sees every firm, for ``purpose`` only."""
    async with (
        (maker or get_sessionmaker())() as session,
        session.begin(),
        system_scope(session, purpose),
    ):
        yield session
